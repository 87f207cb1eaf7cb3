package io.kuasar.driver.runc;

import io.kuasar.driver.kit.Commands;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The namespaces a pod owns without a pause container.
 *
 * <p>IPC and UTS namespaces live on without any process once bind-mounted (nsfs files), so they are pinned under
 * {@code ns/<sandbox>/}: util-linux unshare creates both and bind-mounts them onto the files, then runs hostname
 * inside the new UTS namespace. The directory is first made a private bind mount of itself (what ip-netns does for
 * /run/netns): on a shared mount the nsfs mounts would propagate to peers and could not be unmounted cleanly.
 *
 * <p>A PID namespace dies with its init, so a pod that shares one needs a process: the holder is
 * {@code unshare --pid --fork --kill-child sh -c 'while :; do sleep ... & wait; done'}. Its child is the namespace's
 * init; as a shell waiting for children it also reaps processes orphaned inside the pod (which sleep alone would
 * leave as zombies), and --kill-child takes the namespace down if unshare itself is killed.
 */
final class PodNamespaces {
    private static final Logger LOG = Logger.getLogger(PodNamespaces.class.getName());
    static final String IPC = "ipc";
    static final String UTS = "uts";

    /** The pid-namespace holder: unshare's pid and its child's (the namespace init, as seen from the host). */
    record Holder(long pid, long startTime, long init, long initStartTime) {
        String pidNsPath() {
            return "/proc/" + init + "/ns/pid";
        }

        boolean alive() {
            return init > 0 && ProcInfo.same(init, initStartTime);
        }
    }

    private PodNamespaces() {
    }

    /** Creates the pod's IPC and UTS namespaces pinned under {@code nsDir}, with {@code hostname} set. */
    static void pin(Path nsDir, String hostname) throws IOException {
        FileOps.privateDir(nsDir);
        if (!Mounts.isMountPoint(nsDir)) {
            Mounts.bind(nsDir, nsDir);
        }
        Mounts.makePrivate(nsDir);
        Path ipc = nsDir.resolve(IPC);
        Path uts = nsDir.resolve(UTS);
        if (Mounts.isMountPoint(ipc) && Mounts.isMountPoint(uts)) {
            return; // pinned before (start retried after a restart)
        }
        for (Path f : List.of(ipc, uts)) {
            Mounts.unmountAll(f);
            if (!Files.exists(f)) {
                Files.createFile(f);
            }
        }
        List<String> argv = hostname == null || hostname.isEmpty()
                ? List.of("unshare", "--ipc=" + ipc, "--uts=" + uts, "true")
                : List.of("unshare", "--ipc=" + ipc, "--uts=" + uts, "hostname", hostname);
        Commands.run(argv, 10);
    }

    /** Starts the PID namespace holder and waits until its child (the namespace init) exists. */
    static Holder startPidHolder() throws IOException {
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--kill-child", "/bin/sh", "-c",
                "while :; do sleep 2147483647 & wait; done")
                .redirectInput(Commands.DEV_NULL).redirectOutput(Commands.DEV_NULL).redirectError(Commands.DEV_NULL)
                .start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            Optional<ProcessHandle> child = p.toHandle().children().findFirst();
            if (child.isPresent()) {
                long init = child.get().pid();
                return new Holder(p.pid(), ProcInfo.startTime(p.pid()), init, ProcInfo.startTime(init));
            }
            if (!p.isAlive()) {
                throw new IOException("pid namespace holder exited with " + p.exitValue());
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        p.destroyForcibly();
        throw new IOException("pid namespace holder did not start");
    }

    /**
     * Kills the holder's namespace init (every process of the pod's PID namespace dies with it); unshare then reaps
     * it and exits by itself. Killing unshare first would orphan the init to this JVM, which would never reap it.
     */
    static void stopPidHolder(Holder h) {
        if (h == null || h.pid() <= 0) {
            return;
        }
        if (h.init() > 0 && ProcInfo.same(h.init(), h.initStartTime())) {
            try {
                Syscalls.kill(h.init(), 9);
            } catch (IOException e) {
                LOG.fine(() -> "holder init already gone: " + e.getMessage());
            }
        }
        Optional<ProcessHandle> unshare = ProcessHandle.of(h.pid());
        if (unshare.isPresent() && ProcInfo.same(h.pid(), h.startTime())) {
            try {
                unshare.get().onExit().get(2, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                unshare.get().destroyForcibly();
            }
        }
    }

    /** Unmounts the pinned namespaces and removes {@code nsDir}. */
    static void release(Path nsDir) throws IOException {
        if (nsDir == null || !Files.exists(nsDir)) {
            return;
        }
        Mounts.unmountAll(nsDir.resolve(IPC));
        Mounts.unmountAll(nsDir.resolve(UTS));
        Mounts.unmountAll(nsDir);
        FileOps.deleteTree(nsDir);
    }
}
