package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the host's cgroup controllers are mounted, and the files of one container's cgroup. runc (cgroupfs driver)
 * puts a container whose spec says {@code linux.cgroupsPath = /a/b} at {@code <controller mount>/a/b}; CRI writes
 * such absolute paths (pod cgroup parent + container id). cgroup v1 is used whenever any v1 controller is mounted
 * (a "hybrid" host like this one, whose cgroup2 mount holds only hugetlb, counts as v1, as containerd decides).
 *
 * @param v1      mount point of each v1 controller by name ({@code cpu}, {@code cpuacct}, {@code memory}, ...)
 * @param unified mount point of the cgroup2 hierarchy, or null
 */
public record Cgroups(Map<String, Path> v1, Path unified) {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static volatile Cgroups host;

    /** The host's layout, from /proc/self/mountinfo (read once: cgroup hierarchies are not remounted under us). */
    public static Cgroups host() throws IOException {
        Cgroups h = host;
        if (h == null) {
            h = fromMountInfo(Files.readAllLines(Path.of("/proc/self/mountinfo")));
            host = h;
        }
        return h;
    }

    /** Parses mountinfo lines: {@code ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS] - FSTYPE SOURCE SUPEROPTS}. */
    static Cgroups fromMountInfo(List<String> lines) {
        Map<String, Path> v1 = new HashMap<>();
        Path unified = null;
        for (String line : lines) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash < 0 || f.length < dash + 4 || f.length < 5) {
                continue;
            }
            Path mountPoint = Path.of(f[4].replace("\\040", " "));
            String fsType = f[dash + 1];
            if (fsType.equals("cgroup2")) {
                unified = mountPoint;
            } else if (fsType.equals("cgroup")) {
                for (String opt : f[dash + 3].split(",")) {
                    if (!opt.equals("rw") && !opt.equals("ro") && !opt.contains("=")) {
                        v1.putIfAbsent(opt, mountPoint);
                    }
                }
            }
        }
        return new Cgroups(Map.copyOf(v1), unified);
    }

    /** True when containers get v1 cgroups (any v1 controller mounted). */
    public boolean isV1() {
        return !v1.isEmpty();
    }

    /** The directory of {@code cgroupPath} under v1 controller {@code controller}, or null if it is not mounted. */
    public Path v1Dir(String controller, String cgroupPath) {
        Path mount = v1.get(controller);
        return mount == null ? null : mount.resolve(relative(cgroupPath));
    }

    /** The directory of {@code cgroupPath} in the cgroup2 hierarchy. */
    public Path v2Dir(String cgroupPath) throws SandboxException {
        if (unified == null) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "no cgroup2 hierarchy is mounted");
        }
        return unified.resolve(relative(cgroupPath));
    }

    /**
     * How many processes the OOM killer killed in the container's memory cgroup so far (the {@code oom_kill} line
     * of v1 memory.oom_control, kernel 4.13+, or of v2 memory.events); 0 when the cgroup or the line is gone.
     */
    public long oomKills(String cgroupPath) {
        Path file = isV1() ? dirOrNull(v1Dir("memory", cgroupPath), "memory.oom_control")
                : unified == null ? null : unified.resolve(relative(cgroupPath)).resolve("memory.events");
        if (file == null) {
            return 0;
        }
        try {
            return CgroupFiles.keyed(file).getOrDefault("oom_kill", 0L);
        } catch (IOException e) {
            return 0;
        }
    }

    private static Path dirOrNull(Path dir, String file) {
        return dir == null ? null : dir.resolve(file);
    }

    private static Path relative(String cgroupPath) {
        String p = cgroupPath;
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return Path.of(p.isEmpty() ? "." : p);
    }

    /**
     * The container's {@code linux.cgroupsPath} from its bundle's config.json. FAILED_PRECONDITION when there is
     * none, or when it is in the systemd driver's {@code slice:prefix:name} form (this driver runs runc with
     * cgroupfs only).
     */
    public static String cgroupsPath(Path bundle) throws SandboxException {
        JsonNode spec;
        try {
            spec = JSON.readTree(bundle.resolve("config.json").toFile());
        } catch (IOException e) {
            throw SandboxException.internal("cannot read " + bundle.resolve("config.json"), e);
        }
        String path = spec.path("linux").path("cgroupsPath").asText("");
        if (path.isEmpty()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "the spec in " + bundle + " names no linux.cgroupsPath");
        }
        if (path.contains(":") || path.contains("..")) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cgroupsPath " + path + " of "
                    + bundle + " is not a cgroupfs path (the systemd cgroup driver is not supported)");
        }
        return path;
    }
}
