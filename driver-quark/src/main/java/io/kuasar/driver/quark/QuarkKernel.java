package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Quark backend, following Kuasar's contract: the driver writes the pod's sandbox bundle and starts
 * {@code quark ... sandbox} in it; Quark (QVisor + QKernel) then serves the Task API for the pod's containers at
 * its own socket, which Start returns to containerd. Nothing of the Task API passes through this host.
 * Not run against a real Quark (it cannot be built or installed on this machine kind); tested with a stand-in.
 */
final class QuarkKernel implements AppKernel {
    private final QuarkSettings settings;
    private final Path runRoot;
    private final PodStore<Pod, PersistedPod> store;

    QuarkKernel(QuarkSettings settings, Path runRoot, PodStore<Pod, PersistedPod> store) {
        this.settings = settings;
        this.runRoot = runRoot;
        this.store = store;
    }

    @Override
    public String sandboxer() {
        return "quark";
    }

    Path podDir(String podId) {
        return runRoot.resolve("pods").resolve(podId);
    }

    @Override
    public SandboxStarted start(Pod pod) throws SandboxException {
        Path dir = podDir(pod.id);
        Path log = dir.resolve("quark.log");
        Process quark = null;
        try {
            QuarkBundle.write(dir, pod);
            Files.deleteIfExists(dir.resolve(QuarkBundle.PID_FILE));
            quark = new ProcessBuilder(QuarkBundle.command(settings.binary(), settings.extraArgs(), dir, pod.id))
                    .directory(dir.toFile()).redirectInput(Commands.DEV_NULL).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            long pid = awaitPid(dir.resolve(QuarkBundle.PID_FILE), quark, log);
            String address = QuarkBundle.taskAddress(dir);
            synchronized (pod) {
                pod.pid = pid;
                pod.taskAddress = address;
                pod.state = SandboxStatus.State.READY;
            }
            store.save(pod);
            return new SandboxStarted(pid, pod.createdAt, address, 3, Map.of());
        } catch (IOException e) {
            destroy(quark);
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cannot start Quark ("
                    + settings.binary() + ", setting quark.binary) for sandbox " + pod.id + ": " + e.getMessage(), e);
        } catch (SandboxException | RuntimeException e) {
            destroy(quark);
            throw e;
        }
    }

    /** Waits for Quark's pid file; fails early with Quark's own output when it exits first. */
    private long awaitPid(Path pidFile, Process quark, Path log) throws SandboxException, IOException {
        long deadline = System.nanoTime() + settings.startTimeout().toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.isRegularFile(pidFile)) {
                String text = Files.readString(pidFile).trim();
                if (!text.isEmpty()) {
                    return Long.parseLong(text);
                }
            }
            if (!quark.isAlive() && quark.exitValue() != 0) {
                throw new SandboxException(SandboxException.Code.INTERNAL, "quark exited with " + quark.exitValue()
                        + " before writing its pid file: " + tail(log));
            }
            sleep(10);
        }
        throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED, "quark wrote no pid file within "
                + settings.startTimeout().toSeconds() + " s: " + tail(log));
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return lines.isEmpty() ? "(no output)" : String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        } catch (IOException e) {
            return "(no output)";
        }
    }

    @Override
    public void stop(Pod pod, Duration grace) throws SandboxException {
        Optional<ProcessHandle> quark = quarkProcess(pod);
        if (quark.isEmpty()) {
            return;
        }
        ProcessHandle h = quark.get();
        h.destroy(); // SIGTERM: Quark stops its containers
        try {
            h.onExit().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception notYet) {
            h.destroyForcibly();
            try {
                h.onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw SandboxException.internal("Quark process " + h.pid() + " of sandbox " + pod.id + " did not end", e);
            }
        }
    }

    /** The recorded Quark process, if it still runs and is still Quark for this pod (pids are reused). */
    private Optional<ProcessHandle> quarkProcess(Pod pod) {
        if (pod.pid <= 0) {
            return Optional.empty();
        }
        List<String> argv = ProcStat.cmdline(pod.pid);
        if (!argv.contains("sandbox") || Collections.indexOfSubList(argv, List.of("--id", pod.id)) < 0) {
            return Optional.empty();
        }
        return ProcessHandle.of(pod.pid).filter(ProcessHandle::isAlive);
    }

    @Override
    public void shutdown(Pod pod) throws SandboxException {
        stop(pod, Duration.ZERO);
        Path dir = podDir(pod.id);
        try {
            HostFiles.unmountAll(dir);
            HostFiles.deleteTree(dir);
        } catch (IOException e) {
            throw SandboxException.internal("cannot clean up the Quark bundle of sandbox " + pod.id, e);
        }
    }

    @Override
    public TaskService tasks(Pod pod) throws SandboxException {
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "the tasks of sandbox " + pod.id
                + " are served by Quark itself at " + pod.taskAddress + ", not by this host");
    }

    @Override
    public boolean reattach(Pod pod) {
        return pod.state != SandboxStatus.State.READY || quarkProcess(pod).isPresent();
    }

    @Override
    public void close() {
        // Quark processes are independent of this driver instance: nothing to release.
    }

    private static void destroy(Process p) {
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }

    private static void sleep(long millis) throws SandboxException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted while starting Quark");
        }
    }
}
