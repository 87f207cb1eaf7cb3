package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.ExitFiles;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodCgroup;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.driver.kit.tty.Pty;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.SandboxException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Sandboxer {@code wasmedge}: one WasmEdge process per container, run through the unpacked trixie loader (see
 * {@link WasmEdgeInstall}), in the pod's network namespace ({@code nsenter --net}) and the container's cgroup
 * (joined by a tiny shell before it execs, so the memory limit holds from the start). Its exit status is written
 * to the container's work dir by whichever driver instance's Process object sees it, so an upgraded driver learns
 * it; after a node JVM crash the process is the keeper's, whose record the host's {@link OrphanExits} reads. A tty
 * container's process runs on a pty this JVM makes, its controlling terminal ({@code setsid -c}); the kit's holder
 * keeps the master across driver upgrades and node restarts, as for runc's terminals.
 */
record WasmEdgeBackend(WasmEdgeInstall install, Path workRoot, OrphanExits orphans) implements WasmBackend {
    static final String SANDBOXER = "wasmedge";
    static final String EXIT_FILE = "exit";
    private static final Duration RECORD_WAIT = Duration.ofSeconds(3);
    private static final String JOIN_AND_EXEC =
            "for f in $KUASAR_CGROUP_PROCS; do echo $$ > \"$f\" || exit 125; done; exec \"$@\"";

    WasmEdgeBackend {
        ExitFiles.class.getName(); // loaded now: exit callbacks may run after this bundle was updated (see ExitFiles)
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

    /**
     * The pod's resources, written to the pod's cgroup, the parent of its containers' (CRI's cgroup parent): a cap
     * on all its WasmEdge processes together (memory, cpu, pids; anything else is refused naming it).
     */
    @Override
    public void capPod(WasmPod pod, JsonNode resources) throws SandboxException {
        PodCgroup.apply(pod.id, PodCgroup.path(pod.id, "", pod.containerList().stream().map(c -> c.bundle).toList()),
                resources);
    }

    @Override
    public String noTerminal() {
        return null;
    }

    @Override
    public void prepare(WasmPod pod, WasmContainer c) throws SandboxException {
        install.check();
    }

    /** The command: cgroup join, pod netns, WasmEdge with the preopens, environment, module and its arguments. */
    List<String> command(WasmPod pod, WasmContainer c) {
        LaunchPlan p = c.plan;
        List<String> argv = new ArrayList<>();
        if (c.init.stdio.terminal()) {
            // its own session with the pty as controlling terminal: ^C typed at an attach reaches it as SIGINT. The
            // JVM's child leads no process group, so setsid execs in place (no fork): the pid stays WasmEdge's.
            argv.addAll(List.of("setsid", "-c"));
        }
        argv.addAll(List.of("/bin/sh", "-c", JOIN_AND_EXEC, "kuasar-wasmedge"));
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
        StdioRedirects stdio = Terminals.redirects(c.init.stdio, "the " + SANDBOXER + " sandboxer");
        String what = "WasmEdge container " + c.id;
        Pty pty = c.init.stdio.terminal() ? Terminals.openPty(what) : null;
        Cgroups cg = cgroup(pod, c);
        Process process = null;
        try {
            List<String> procs = cg.create(c.plan.memoryLimit());
            ProcessBuilder pb = new ProcessBuilder(command(pod, c));
            pb.environment().clear(); // the module gets only --env; WasmEdge itself needs nothing of the node's
            pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
            pb.environment().put("KUASAR_CGROUP_PROCS", String.join(" ", procs));
            if (pty != null) {
                File tty = new File(pty.replica());
                pb.redirectInput(ProcessBuilder.Redirect.from(tty)).redirectOutput(ProcessBuilder.Redirect.appendTo(tty))
                        .redirectError(ProcessBuilder.Redirect.appendTo(tty));
            } else {
                stdio.applyTo(pb);
            }
            Files.deleteIfExists(HostFiles.privateDir(workDir(pod, c)).resolve(EXIT_FILE));
            process = pb.start();
            if (pty != null) {
                process.onExit().thenRun(pty::close); // the JVM's replica fd: the terminal reads as open till then
                c.init.console = pty.take(c.init.stdio, what, Terminals.holderRecord(workDir(pod, c), ""));
            }
        } catch (IOException | SandboxException | RuntimeException e) {
            if (process != null) {
                process.destroyForcibly(); // started, but its terminal could not be held: nobody would see it
            }
            if (pty != null) {
                pty.close();
            }
            cg.remove();
            throw e instanceof SandboxException se ? se
                    : SandboxException.internal("cannot start WasmEdge for container " + c.id, e);
        }
        c.startTime = ProcStat.startTime(process.pid());
        Path exitFile = workDir(pod, c).resolve(EXIT_FILE);
        CompletableFuture<Ending> ending = process.onExit().thenApply(p -> {
            int code = p.exitValue();
            Instant at = Instant.now();
            ExitFiles.write(exitFile, code, at); // first, for a driver instance that replaced this one meanwhile
            return ending(cg, code, at);
        });
        return new Started(process.pid(), ending.copy()); // a cancelled watch: the exit file is still written
    }

    private static Ending ending(Cgroups cg, int code, Instant at) {
        if (code == 137 && cg.oomKilled()) {
            return new Ending(code, at, "OOMKilled", true);
        }
        return new Ending(code, at, code == 0 ? "Completed" : code > 128 ? "Killed" : "Error", false);
    }

    @Override
    public void kill(WasmPod pod, WasmContainer c, int signal) throws SandboxException {
        long pid = c.init.pid();
        if (pid <= 0 || ProcStat.startTime(pid) != c.startTime) {
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
    public void limitMemory(WasmPod pod, WasmContainer c, long bytes) throws SandboxException {
        try {
            cgroup(pod, c).limitMemory(bytes > 0 ? bytes : -1); // -1: v1's "no limit"
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cannot set the memory limit of "
                    + "WasmEdge container " + c.id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void pause(WasmPod pod, WasmContainer c, boolean paused) throws SandboxException {
        try {
            cgroup(pod, c).freeze(paused);
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cannot "
                    + (paused ? "pause" : "resume") + " WasmEdge container " + c.id + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Usage usage(WasmPod pod, WasmContainer c) {
        Cgroups cg = cgroup(pod, c);
        return new Usage(cg.cpuNanos(), cg.memoryBytes(), cg.peakMemoryBytes());
    }

    @Override
    public CompletionStage<Ending> reattach(WasmPod pod, WasmContainer c) {
        Cgroups cg = cgroup(pod, c);
        if (c.init.stdio.terminal() && c.init.console == null) {
            c.init.console = Terminals.reattach(c.init.stdio, "WasmEdge container " + c.id,
                    Terminals.holderRecord(workDir(pod, c), ""));
        }
        return WasmBackend.watch(ExitFiles.collect(workDir(pod, c).resolve(EXIT_FILE), orphans, c.init.pid(),
                c.startTime, RECORD_WAIT, "WasmEdge process of container " + c.id).toCompletableFuture(),
                e -> ending(cg, e.code(), e.exitedAt()));
    }

    @Override
    public void release(WasmPod pod, WasmContainer c) {
        Terminals.releaseHolders(workDir(pod, c));
        if (c.plan != null) {
            cgroup(pod, c).remove();
        }
    }

    @Override
    public void close() {
        // nothing of its own: running WasmEdge processes outlive this driver instance
    }
}
