package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Sandboxer {@code wasmedge}: one WasmEdge process per container, run through the unpacked trixie loader (see
 * {@link WasmEdgeInstall}), in the pod's network namespace ({@code nsenter --net}) and the container's cgroup
 * (joined by a tiny shell before it execs, so the memory limit holds from the start). Its exit status is written
 * to the container's work dir by whichever driver instance's Process object sees it, so an upgraded driver learns
 * it; after a node JVM crash the process is the keeper's, which records it under {@code <keeper>/exits}.
 */
final class WasmEdgeBackend implements WasmBackend {
    static final String SANDBOXER = "wasmedge";
    static final String EXIT_FILE = "exit";
    private static final long RECORD_WAIT_MS = 3000;
    private static final String JOIN_AND_EXEC =
            "for f in $KUASAR_CGROUP_PROCS; do echo $$ > \"$f\" || exit 125; done; exec \"$@\"";

    private final WasmEdgeInstall install;
    private final Path workRoot;
    private final Path keeperExits;
    private final ScheduledExecutorService polls = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kuasar-wasmedge-exits");
        t.setDaemon(true);
        return t;
    });

    WasmEdgeBackend(WasmEdgeInstall install, Path workRoot, Path keeperDir) {
        this.install = install;
        this.workRoot = workRoot;
        this.keeperExits = keeperDir == null ? null : keeperDir.resolve("exits");
    }

    @Override
    public String sandboxer() {
        return SANDBOXER;
    }

    private Path workDir(WasmPod pod, WasmContainer c) {
        return workRoot.resolve(pod.id).resolve(c.id);
    }

    Cgroups cgroup(WasmPod pod, WasmContainer c) {
        String path = c.plan.cgroupsPath();
        if (path.isEmpty() || path.contains("..") || path.contains(":")) {
            path = "/kuasar-wasmedge/" + pod.id + "/" + c.id; // no path, or a systemd-style one this host cannot use
        }
        return new Cgroups(Cgroups.ROOT, path);
    }

    @Override
    public void prepare(WasmPod pod, WasmContainer c) throws SandboxException {
        install.check();
    }

    /** The command: cgroup join, pod netns, WasmEdge with the preopens, environment, module and its arguments. */
    List<String> command(WasmPod pod, LaunchPlan p) {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", JOIN_AND_EXEC, "kuasar-wasmedge"));
        if (!pod.netnsPath.isEmpty()) {
            argv.add("nsenter");
            argv.add("--net=" + pod.netnsPath);
        }
        argv.addAll(install.command());
        for (Map.Entry<String, String> d : p.preopens().entrySet()) {
            argv.add("--dir");
            argv.add(d.getKey() + ":" + d.getValue() + (p.readonly().contains(d.getKey()) ? ":readonly" : ""));
        }
        for (String kv : p.env()) {
            argv.add("--env");
            argv.add(kv);
        }
        argv.add(p.module());
        argv.addAll(p.args().subList(1, p.args().size()));
        return argv;
    }

    @Override
    public Started start(WasmPod pod, WasmContainer c) throws SandboxException {
        StdioRedirects stdio = StdioRedirects.of(c.init.stdio, "the " + SANDBOXER + " sandboxer");
        Cgroups cg = cgroup(pod, c);
        Process process;
        try {
            List<String> procs = cg.create(c.plan.memoryLimit());
            ProcessBuilder pb = new ProcessBuilder(command(pod, c.plan));
            pb.environment().clear(); // the module gets only --env; WasmEdge itself needs nothing of the node's
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.environment().put("KUASAR_CGROUP_PROCS", String.join(" ", procs));
            stdio.applyTo(pb);
            Files.deleteIfExists(HostFiles.privateDir(workDir(pod, c)).resolve(EXIT_FILE));
            process = pb.start();
        } catch (IOException e) {
            cg.remove();
            throw SandboxException.internal("cannot start WasmEdge for container " + c.id, e);
        }
        c.startTime = startTime(process.pid());
        Path exitFile = workDir(pod, c).resolve(EXIT_FILE);
        CompletionStage<Ending> ending = process.onExit().thenApply(p -> {
            int code = p.exitValue();
            Instant at = Instant.now();
            writeExit(exitFile, code, at); // first, for a driver instance that replaced this one meanwhile
            return ending(cg, code, at);
        });
        return new Started(process.pid(), ending);
    }

    private static Ending ending(Cgroups cg, int code, Instant at) {
        if (code == 137 && cg.oomKilled()) {
            return new Ending(code, at, "OOMKilled", true);
        }
        return new Ending(code, at, code == 0 ? "Completed" : code > 128 ? "Killed" : "Error", false);
    }

    /** JDK calls only: this may run after the bundle that started the process was updated. */
    static void writeExit(Path file, int code, Instant at) {
        try {
            Path tmp = file.resolveSibling(EXIT_FILE + ".tmp");
            long nanos = at.getEpochSecond() * 1_000_000_000L + at.getNano();
            Files.writeString(tmp, code + " " + nanos + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // the work dir is gone (container deleted): nobody asks any more
        }
    }

    @Override
    public void kill(WasmPod pod, WasmContainer c, int signal) throws SandboxException {
        long pid = c.init.pid();
        if (pid <= 0 || startTime(pid) != c.startTime) {
            return; // gone (its exit is on its way), and the pid may already be someone else's
        }
        try {
            Commands.run(List.of("kill", "-s", Integer.toString(signal), Long.toString(pid)), 10);
        } catch (IOException e) {
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                throw SandboxException.internal("cannot signal WasmEdge of container " + c.id, e);
            }
        }
    }

    @Override
    public Usage usage(WasmPod pod, WasmContainer c) {
        Cgroups cg = cgroup(pod, c);
        return new Usage(cg.cpuNanos(), cg.memoryBytes(), cg.peakMemoryBytes());
    }

    @Override
    public CompletionStage<Ending> reattach(WasmPod pod, WasmContainer c) {
        CompletableFuture<Ending> done = new CompletableFuture<>();
        long pid = c.init.pid();
        Optional<ProcessHandle> alive = ProcessHandle.of(pid).filter(h -> startTime(pid) == c.startTime);
        Runnable collect = () -> collect(pod, c, done, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECORD_WAIT_MS));
        if (alive.isPresent()) {
            alive.get().onExit().thenRun(collect); // polls for non-children: fine for the few recovered ones
        } else {
            collect.run();
        }
        return done;
    }

    /** The exit from our own record, else the keeper's; both are written just after the reap, so retry a little. */
    private void collect(WasmPod pod, WasmContainer c, CompletableFuture<Ending> done, long deadline) {
        Cgroups cg = cgroup(pod, c);
        Path own = workDir(pod, c).resolve(EXIT_FILE);
        Path keeper = keeperExits == null ? null : keeperExits.resolve(c.init.pid() + "-" + c.startTime);
        for (Path f : keeper == null ? List.of(own) : List.of(own, keeper)) {
            try {
                String[] v = Files.readString(f).trim().split("\\s+");
                boolean keeperRecord = f.equals(keeper);
                int code = Integer.parseInt(v[keeperRecord ? 1 : 0]);
                Instant at = Instant.ofEpochSecond(0, Long.parseLong(v[keeperRecord ? 2 : 1]));
                if (keeperRecord) {
                    writeExit(own, code, at);
                    Files.deleteIfExists(f);
                }
                done.complete(ending(cg, code, at));
                return;
            } catch (IOException | RuntimeException notYet) {
                // not written (yet)
            }
        }
        if (System.nanoTime() < deadline) {
            try {
                polls.schedule(() -> collect(pod, c, done, deadline), 25, TimeUnit.MILLISECONDS);
                return;
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                // fall through: unknown
            }
        }
        done.complete(new Ending(ExitStatus.UNKNOWN_CODE, Instant.now(), "WasmEdge process " + c.init.pid()
                + " ended while no driver watched it and nobody recorded its status", false));
    }

    @Override
    public void release(WasmPod pod, WasmContainer c) {
        if (c.plan != null) {
            cgroup(pod, c).remove();
        }
    }

    @Override
    public void close() {
        polls.shutdown();
    }

    /** Field 22 of /proc/PID/stat (clock ticks since boot), 0 when the process is gone. */
    static long startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
