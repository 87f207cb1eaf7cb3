package io.kuasar.driver.wasm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * A WasmEdge container's cgroup (v1, cgroupfs: what this kind of host has) in the memory, cpuacct, pids and freezer
 * hierarchies (the last for Pause and Resume), at the path CRI wrote into the spec ({@code linux.cgroupsPath}, under the pod's cgroup parent).
 * The memory limit is set before the process joins, so it holds from its first instruction; OOM kills are read
 * from {@code memory.oom_control}'s {@code oom_kill} counter.
 */
final class Cgroups {
    static final Path ROOT = Path.of("/sys/fs/cgroup");
    private static final List<String> CONTROLLERS = List.of("memory", "cpuacct", "pids", "freezer");
    /** How long the kernel may take to stop every task of the cgroup (FREEZING until then). */
    private static final Duration FREEZE_WAIT = Duration.ofSeconds(5);

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

    /** Sets the memory limit of a running container's cgroup (v1 memory.limit_in_bytes). */
    void limitMemory(long bytes) throws IOException {
        Path memory = dir("memory");
        if (!Files.isDirectory(memory)) {
            throw new IOException("no memory cgroup at " + memory);
        }
        Files.writeString(memory.resolve("memory.limit_in_bytes"), Long.toString(bytes));
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

    /**
     * Stops (FROZEN) or lets run again (THAWED) every process of the cgroup, through v1's freezer; returns once the
     * kernel reports that state. IOException when the host has no freezer hierarchy, or the cgroup does not freeze.
     */
    void freeze(boolean frozen) throws IOException {
        Path state = dir("freezer").resolve("freezer.state");
        if (!Files.isRegularFile(state)) {
            throw new IOException("no freezer cgroup at " + state.getParent()
                    + " (this host mounts no v1 freezer hierarchy, or the container started before it was used)");
        }
        String want = frozen ? "FROZEN" : "THAWED";
        Files.writeString(state, want);
        long deadline = System.nanoTime() + FREEZE_WAIT.toNanos();
        while (!Files.readString(state).trim().equals(want)) {
            if (System.nanoTime() > deadline) {
                throw new IOException(state + " did not reach " + want + " within " + FREEZE_WAIT.toSeconds() + " s");
            }
            LockSupport.parkNanos(1_000_000);
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
