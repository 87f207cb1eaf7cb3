package io.kuasar.driver.wasm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A WasmEdge container's cgroup (v1, cgroupfs: what this kind of host has) in the memory, cpuacct and pids
 * hierarchies, at the path CRI wrote into the spec ({@code linux.cgroupsPath}, under the pod's cgroup parent).
 * The memory limit is set before the process joins, so it holds from its first instruction; OOM kills are read
 * from {@code memory.oom_control}'s {@code oom_kill} counter.
 */
final class Cgroups {
    static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final List<String> CONTROLLERS = List.of("memory", "cpuacct", "pids");

    private final Path root;
    private final String path;

    Cgroups(Path root, String path) {
        this.root = root;
        this.path = path.startsWith("/") ? path.substring(1) : path;
    }

    /** The directories of this cgroup in each mounted hierarchy. */
    List<Path> dirs() {
        List<Path> out = new ArrayList<>();
        for (String c : CONTROLLERS) {
            Path h = root.resolve(c);
            if (Files.isDirectory(h)) {
                out.add(h.resolve(path));
            }
        }
        return out;
    }

    private Path dir(String controller) {
        return root.resolve(controller).resolve(path);
    }

    /** Creates the cgroup (idempotent) and sets its memory limit; returns the files a process joins through. */
    List<String> create(long memoryLimit) throws IOException {
        List<String> procs = new ArrayList<>();
        for (Path d : dirs()) {
            Files.createDirectories(d);
            procs.add(d.resolve("cgroup.procs").toString());
        }
        if (memoryLimit > 0 && Files.isDirectory(dir("memory"))) {
            Files.writeString(dir("memory").resolve("memory.limit_in_bytes"), Long.toString(memoryLimit));
        }
        return procs;
    }

    long cpuNanos() {
        return read("cpuacct", "cpuacct.usage");
    }

    long memoryBytes() {
        return read("memory", "memory.usage_in_bytes");
    }

    long peakMemoryBytes() {
        return read("memory", "memory.max_usage_in_bytes");
    }

    /** True when the kernel's OOM killer killed a process of this cgroup. */
    boolean oomKilled() {
        try {
            for (String line : Files.readAllLines(dir("memory").resolve("memory.oom_control"))) {
                if (line.startsWith("oom_kill ")) {
                    return Long.parseLong(line.substring(9).trim()) > 0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    private long read(String controller, String file) {
        try {
            return Long.parseLong(Files.readString(dir(controller).resolve(file)).trim());
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Removes the cgroup's directories (empty by then: its process has ended). */
    void remove() {
        for (Path d : dirs()) {
            try {
                Files.deleteIfExists(d);
            } catch (IOException e) {
                // still busy or already gone: a later Delete or the cgroup parent's removal takes it
            }
        }
    }
}
