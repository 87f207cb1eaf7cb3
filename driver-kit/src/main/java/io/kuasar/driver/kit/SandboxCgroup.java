package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The host cgroup of a sandbox whose containers share one process on the host (a VM's QEMU, gVisor's sentry), named
 * {@code CGROUP_PARENT/kuasar-TECH-ID} below CRI's cgroup parent of the pod, in the cgroup v1 hierarchies the host
 * has (cpu, cpuacct, memory, pids): the pod's whole cost is accounted where Kubernetes looks. Such a sandbox cannot
 * limit its containers one by one on the host, so a container Update resizes this cgroup to follow the limits of the
 * pod's live containers ({@link #sized}).
 *
 * @since 1.10
 */
public final class SandboxCgroup {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** cpuacct too: Controller Metrics read the CPU time from it (a hierarchy of its own on some hosts). */
    private static final List<String> CONTROLLERS = List.of("cpu", "cpuacct", "memory", "pids");
    /** The CFS period of the quotas this class writes, in µs. */
    public static final long PERIOD_US = 100_000;
    /** The smallest CFS quota the kernel takes. */
    private static final long MIN_QUOTA_US = 1_000;

    /** A cgroup's limits: bytes of memory and the CFS quota in µs per {@link #PERIOD_US}; -1 for none. */
    public record Limits(long memoryBytes, long cpuQuotaUs) {
    }

    private SandboxCgroup() {
    }

    /**
     * {@code PARENT/kuasar-TECH-ID}, or {@code /kuasar-TECH/kuasar-TECH-ID} when CRI gave no parent. INVALID_ARGUMENT
     * for a parent that is not a plain cgroupfs path: one with {@code .} or {@code ..} segments would put the
     * sandbox's cgroup, the limits this driver writes and the directories it removes, outside the hierarchy; a
     * systemd-style {@code slice:prefix:name} is not a path at all.
     */
    public static String path(String tech, String parent, String sandboxId) throws SandboxException {
        String p = parent == null || parent.isBlank() ? "/kuasar-" + tech : parent.trim();
        String path = (p.startsWith("/") ? p : "/" + p).replaceAll("/+$", "") + "/kuasar-" + tech + "-" + sandboxId;
        if (!plain(path)) {
            throw SandboxException.invalid("cgroup parent \"" + parent + "\" of sandbox " + sandboxId
                    + " is not a plain cgroupfs path (no . or .. segments, no systemd slice:prefix:name)");
        }
        return path;
    }

    /**
     * The limits for a sandbox whose live containers have {@code resources} (their OCI {@code linux.resources}):
     * memory is the sum of the containers' limits, at most {@code memoryCap} (the most the sandbox can use; -1 for
     * no cap), plus {@code overhead} (the sandbox's own processes); {@code memoryCap} plus overhead while one of them
     * has no limit. CPU is the sum of their CFS quotas; none while one of them has none.
     */
    public static Limits sized(Collection<JsonNode> resources, long memoryCap, long overhead) {
        long memory = 0;
        long quota = 0;
        for (JsonNode r : resources) {
            long limit = r.path("memory").path("limit").asLong(0);
            memory = limit <= 0 || memory < 0 ? -1 : saturatedAdd(memory, limit);
            long q = r.path("cpu").path("quota").asLong(0);
            long period = r.path("cpu").path("period").asLong(PERIOD_US);
            quota = q <= 0 || period <= 0 || quota < 0 ? -1 : saturatedAdd(quota, perPeriod(q, period));
        }
        long bytes = memory < 0 || resources.isEmpty() ? memoryCap : memoryCap < 0 ? memory : Math.min(memory, memoryCap);
        long cpu = quota < 0 || resources.isEmpty() ? -1 : Math.max(quota, MIN_QUOTA_US);
        return new Limits(bytes < 0 ? -1 : saturatedAdd(bytes, overhead), cpu);
    }

    private static long perPeriod(long q, long period) {
        return q > Long.MAX_VALUE / PERIOD_US ? Long.MAX_VALUE : Math.max(1, q * PERIOD_US / period);
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    /**
     * The {@code linux.resources} of the {@code config.json} in {@code bundle} (a container's current limits, kept
     * there from Create and rewritten by each Update, so a restarted driver finds them); an empty object if none.
     */
    public static JsonNode recordedResources(Path bundle) throws IOException {
        Path config = bundle.resolve("config.json");
        if (!Files.exists(config)) {
            return JSON.createObjectNode();
        }
        JsonNode r = JSON.readTree(config.toFile()).path("linux").path("resources");
        return r.isObject() ? r : JSON.createObjectNode();
    }

    /**
     * The current limits of the live containers among {@code containers}, {@code updated}'s being {@code resources}
     * and each other's those recorded in the config.json in {@code configDir} of it ({@link #recordedResources}).
     */
    public static <C extends ContainerRecord<?>> List<JsonNode> liveResources(Collection<C> containers, C updated,
            JsonNode resources, Function<C, Path> configDir) throws IOException {
        List<JsonNode> live = new ArrayList<>();
        for (C c : containers) {
            if (c == updated) {
                live.add(resources);
            } else if (c.init.exit() == null) {
                live.add(recordedResources(configDir.apply(c)));
            }
        }
        return live;
    }

    /** Replaces the {@code linux.resources} of the {@code config.json} in {@code bundle}, atomically. */
    public static void recordResources(Path bundle, JsonNode resources) throws IOException {
        Path config = bundle.resolve("config.json");
        JsonNode spec = JSON.readTree(config.toFile());
        if (spec instanceof ObjectNode o) {
            JsonNode linux = o.path("linux");
            (linux.isObject() ? (ObjectNode) linux : o.putObject("linux")).set("resources", resources);
            AtomicFiles.writeAtomically(config, JSON.writeValueAsBytes(o));
        }
    }

    /** Creates the cgroup (memory limit {@code memoryBytes}, none if not positive) and moves {@code pid} into it. */
    public static void enter(String cgroup, long pid, long memoryBytes) throws IOException {
        for (String c : CONTROLLERS) {
            Path base = ROOT.resolve(c);
            if (!Files.isDirectory(base)) {
                continue; // a hierarchy this host lacks
            }
            Path dir = Files.createDirectories(base.resolve(cgroup.substring(1)));
            if (c.equals("memory") && memoryBytes > 0) {
                Files.writeString(dir.resolve("memory.limit_in_bytes"), Long.toString(memoryBytes));
            }
            Files.writeString(dir.resolve("cgroup.procs"), Long.toString(pid));
        }
    }

    /** The memory limit and CFS quota the cgroup has now; a hierarchy this host lacks reads as no limit. */
    public static Limits limits(String cgroup) throws IOException {
        if (cgroup == null || cgroup.isEmpty()) {
            return new Limits(-1, -1);
        }
        Path memory = ROOT.resolve("memory").resolve(cgroup.substring(1)).resolve("memory.limit_in_bytes");
        Path cpu = ROOT.resolve("cpu").resolve(cgroup.substring(1));
        long bytes = Files.exists(memory) ? Long.parseLong(Files.readString(memory).trim()) : -1;
        long quota = Files.exists(cpu.resolve("cpu.cfs_quota_us"))
                ? Long.parseLong(Files.readString(cpu.resolve("cpu.cfs_quota_us")).trim()) * PERIOD_US
                        / Long.parseLong(Files.readString(cpu.resolve("cpu.cfs_period_us")).trim())
                : -1;
        return new Limits(bytes, quota < 0 ? -1 : quota);
    }

    /**
     * Gives the cgroup {@code limits} (-1: none; a hierarchy this host lacks is skipped, but not both memory and
     * cpu). The kernel refuses a memory limit below what the cgroup holds (EBUSY); that failure is thrown with the
     * limit left as it was.
     */
    public static void apply(String cgroup, Limits limits) throws IOException {
        if (cgroup == null || cgroup.isEmpty()) {
            return; // a sandbox recorded before it had a cgroup
        }
        Path memory = ROOT.resolve("memory").resolve(cgroup.substring(1));
        Path cpu = ROOT.resolve("cpu").resolve(cgroup.substring(1));
        if (!Files.isDirectory(memory) && !Files.isDirectory(cpu)) {
            // never a silent no-op: a cgroup v2 host, or a cgroup someone removed
            throw new IOException("no cgroup v1 memory or cpu directory of " + cgroup + " on this host");
        }
        if (Files.isDirectory(memory)) {
            Files.writeString(memory.resolve("memory.limit_in_bytes"),
                    Long.toString(limits.memoryBytes() > 0 ? limits.memoryBytes() : -1));
        }
        if (Files.isDirectory(cpu)) {
            Files.writeString(cpu.resolve("cpu.cfs_period_us"), Long.toString(PERIOD_US));
            Files.writeString(cpu.resolve("cpu.cfs_quota_us"), Long.toString(limits.cpuQuotaUs()));
        }
    }

    /**
     * How many processes the kernel's OOM killer ended in the cgroup ({@code oom_kill} of v1's memory.oom_control,
     * kernel 4.13 and later); 0 when the host has no such file.
     */
    public static long oomKills(String cgroup) {
        if (cgroup == null || cgroup.isEmpty()) {
            return 0;
        }
        try {
            for (String line : Files.readAllLines(ROOT.resolve("memory").resolve(cgroup.substring(1))
                    .resolve("memory.oom_control"))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring("oom_kill ".length()).trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // no v1 memory hierarchy, or an older kernel: nothing known
        }
        return 0;
    }

    /**
     * An absolute cgroupfs path with no {@code .} or {@code ..} segments and no systemd {@code slice:prefix:name}
     * form: one that stays inside the hierarchy it is resolved in.
     */
    private static boolean plain(String cgroup) {
        Path p = Path.of(cgroup);
        return p.isAbsolute() && p.normalize().equals(p) && !cgroup.contains(":");
    }

    /**
     * Removes the cgroup once its processes are gone, from every hierarchy the host mounts (a runtime that made it,
     * as runsc does, may have made it in all of them: blkio, devices, freezer, name=systemd, ...); returns the
     * directories that could not be removed. A path that is not absolute and plain (no {@code .} or {@code ..}
     * segments) is removed nowhere: it may come from a client's spec, and would reach directories outside cgroupfs.
     */
    public static List<String> remove(String cgroup) {
        List<String> left = new ArrayList<>();
        if (cgroup == null || cgroup.isEmpty()) {
            return left;
        }
        if (!plain(cgroup)) {
            return List.of("cgroup \"" + cgroup + "\" is not a plain absolute cgroupfs path: not removed");
        }
        List<Path> hierarchies;
        try (Stream<Path> s = Files.list(ROOT)) {
            hierarchies = s.filter(h -> Files.isDirectory(h, LinkOption.NOFOLLOW_LINKS)).toList();
        } catch (IOException e) {
            return List.of(ROOT + " cannot be listed: " + e.getMessage());
        }
        for (Path h : hierarchies) {
            Path dir = h.resolve(cgroup.substring(1));
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                left.add(dir.toString());
            }
        }
        return left;
    }
}
