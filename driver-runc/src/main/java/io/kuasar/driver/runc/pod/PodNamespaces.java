package io.kuasar.driver.runc.pod;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodFiles;
import io.kuasar.driver.kit.PodSysctls;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.runc.process.Mounts;
import io.kuasar.driver.runc.process.Syscalls;
import io.kuasar.spi.PodConfig;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.System.Logger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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
public final class PodNamespaces {
    private static final Logger LOG = System.getLogger(PodNamespaces.class.getName());
    static final String IPC = "ipc";
    static final String UTS = "uts";
    static final String SHM = "shm";
    static final String HOSTNAME_FILE = PodFiles.HOSTNAME;
    static final String HOSTS = PodFiles.HOSTS;
    static final String RESOLV = PodFiles.RESOLV;
    /** CRI's default size of a pod's /dev/shm. */
    static final long SHM_SIZE = 64L << 20;
    /** The pid-namespace holder: unshare's pid and its child's (the namespace init, as seen from the host). */
    public record Holder(long pid, long startTime, long init, long initStartTime) {
        String pidNsPath() {
            return "/proc/" + init + "/ns/pid";
        }

        boolean alive() {
            return init > 0 && ProcStat.same(init, initStartTime);
        }
    }

    private PodNamespaces() {
    }

    /** Creates the pod's IPC and UTS namespaces pinned under {@code nsDir}, with {@code hostname} set. */
    static void pin(Path nsDir, String hostname) throws IOException {
        pin(nsDir, hostname, false);
    }

    /**
     * As {@link #pin(Path, String)}; with {@code hostIpc} (the pod uses the node's IPC namespace) only UTS is
     * pinned, and the missing ipc file tells {@link Sandbox#namespaceTargets()} so, also after a restart.
     */
    public static void pin(Path nsDir, String hostname, boolean hostIpc) throws IOException {
        HostFiles.privateDir(nsDir);
        if (!HostFiles.isMountPoint(nsDir)) {
            Mounts.bind(nsDir, nsDir);
        }
        Mounts.makePrivate(nsDir);
        Path ipc = nsDir.resolve(IPC);
        Path uts = nsDir.resolve(UTS);
        List<Path> pins = hostIpc ? List.of(uts) : List.of(ipc, uts);
        boolean pinned = true;
        for (Path f : pins) {
            pinned &= HostFiles.isMountPoint(f);
        }
        if (pinned) {
            return; // pinned before (start retried after a restart)
        }
        List<String> argv = new ArrayList<>(List.of("unshare"));
        for (Path f : pins) {
            Mounts.unmountAll(f);
            if (!Files.exists(f)) {
                Files.createFile(f);
            }
            argv.add("--" + f.getFileName() + "=" + f);
        }
        argv.addAll(hostname == null || hostname.isEmpty() ? List.of("true") : List.of("hostname", hostname));
        Commands.run(argv, 10);
    }

    /**
     * The files a pause-based pod gets from CRI's podsandbox controller, made the same way: {@code hostname} (the
     * pod's, else the node's), {@code hosts} (a copy of the node's), {@code resolv.conf} (from the pod's DNS config,
     * else a copy of the node's) and, unless the pod uses the node's IPC namespace, {@code shm}: one tmpfs for the
     * pod's /dev/shm (mode 1777, 64 MiB as CRI's default). See {@link #podPaths(Path)}.
     */
    public static void writePodFiles(Path nsDir, String podHostname, PodConfig pod, boolean hostIpc)
            throws IOException {
        PodFiles.write(nsDir, podHostname, pod);
        Path shm = nsDir.resolve(SHM);
        if (!hostIpc && !HostFiles.isMountPoint(shm)) {
            Files.createDirectories(shm);
            Mounts.tmpfs("shm", shm, "mode=1777,size=" + SHM_SIZE);
        }
    }

    /** Container path to what the pod provides there, for the pod files {@link #writePodFiles} made. */
    static Map<String, String> podPaths(Path nsDir) {
        Map<String, String> paths = PodFiles.paths(nsDir);
        if (Files.isDirectory(nsDir.resolve(SHM))) {
            paths.put("/dev/shm", nsDir.resolve(SHM).toString());
        } else if (Files.isRegularFile(nsDir.resolve(HOSTS)) && !Files.exists(nsDir.resolve(IPC))) {
            paths.put("/dev/shm", "/dev/shm"); // host IPC: the node's /dev/shm, as CRI does
        }
        return paths;
    }

    /**
     * Sets the pod's sysctls in its pinned IPC and UTS namespaces and its network namespace ({@link PodSysctls}).
     *
     * @throws IllegalArgumentException naming the sysctl and why it cannot be set
     */
    public static void applySysctls(Path nsDir, String netnsPath, Map<String, String> sysctls) throws IOException {
        Path ipc = nsDir.resolve(IPC);
        PodSysctls.apply(sysctls, Files.exists(ipc) ? ipc.toString() : null, netnsPath, nsDir.resolve(UTS).toString());
    }

    /** Starts the PID namespace holder and waits until its child (the namespace init) exists. */
    public static Holder startPidHolder() throws IOException {
        Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--kill-child", "/bin/sh", "-c",
                "while :; do sleep 2147483647 & wait; done")
                .redirectInput(Commands.DEV_NULL).redirectOutput(Commands.DEV_NULL).redirectError(Commands.DEV_NULL)
                .start();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            Optional<ProcessHandle> child = p.toHandle().children().findFirst();
            if (child.isPresent()) {
                long init = child.get().pid();
                return new Holder(p.pid(), ProcStat.startTime(p.pid()), init, ProcStat.startTime(init));
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
    public static void stopPidHolder(Holder h) {
        if (h == null || h.pid() <= 0) {
            return;
        }
        if (h.init() > 0 && ProcStat.same(h.init(), h.initStartTime())) {
            try {
                Syscalls.kill(h.init(), 9);
            } catch (IOException e) {
                LOG.log(Level.DEBUG, () -> "holder init already gone: " + e.getMessage());
            }
        }
        Optional<ProcessHandle> unshare = ProcessHandle.of(h.pid());
        if (unshare.isPresent() && ProcStat.same(h.pid(), h.startTime())) {
            try {
                unshare.get().onExit().get(2, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                unshare.get().destroyForcibly();
            }
        }
    }

    /** Unmounts the pinned namespaces and removes {@code nsDir}. */
    public static void release(Path nsDir) throws IOException {
        if (nsDir == null || !Files.exists(nsDir)) {
            return;
        }
        Mounts.unmountAll(nsDir.resolve(IPC));
        Mounts.unmountAll(nsDir.resolve(UTS));
        Mounts.unmountAll(nsDir.resolve(SHM));
        Mounts.unmountAll(nsDir);
        HostFiles.deleteTree(nsDir);
    }
}
