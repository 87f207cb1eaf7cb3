package io.kuasar.driver.runc;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodCgroup;
import io.kuasar.driver.kit.PodDriver;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.runc.pod.NamespaceRewriter;
import io.kuasar.driver.runc.pod.PersistedState;
import io.kuasar.driver.runc.pod.PodNamespaces;
import io.kuasar.driver.runc.pod.PodStopper;
import io.kuasar.driver.runc.pod.Sandbox;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.driver.runc.process.ExitWatcher;
import io.kuasar.driver.runc.process.Runc;
import io.kuasar.driver.runc.process.Syscalls;
import io.kuasar.driver.runc.task.RuncTasks;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxHandover;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Pods as plain runc containers sharing namespaces, served by this host process: no shim per pod, no pause.
 *
 * <p>Start pins the pod's IPC/UTS namespaces as nsfs files (plus a small PID-namespace holder when the pod shares
 * its PID namespace) and returns this JVM's pid. CRI then writes /proc/&lt;that pid&gt;/ns/... into every container
 * spec, and task create rewrites those paths to the pod's namespaces ({@link NamespaceRewriter}). Containers are
 * created with runc directly and become children of this JVM, a child subreaper, whose {@link ExitWatcher} reaps
 * them through pidfds. Everything is persisted per sandbox so a restarted driver re-attaches ({@link #recover()}),
 * and at an upgrade each sandbox is handed to the successor instance in this JVM on its own ({@link #release},
 * {@link #adopt}). The sandbox bookkeeping (create once, start once, stop idempotent, shutdown) is the kit's
 * {@link PodDriver}.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=runc")
@Designate(ocd = RuncDriver.Config.class)
public class RuncDriver extends PodDriver<Sandbox, PersistedState.Sandbox> implements SandboxHandover {
    static final String NAME = "runc";

    @ObjectClassDefinition(name = "Kuasar runc driver", pid = "io.kuasar.driver.runc")
    public @interface Config {
        @AttributeDefinition(description = "runc executable; empty means /usr/sbin/runc if present, else runc on PATH")
        String runc_binary() default "";

        @AttributeDefinition(description = "Seconds between SIGTERM and SIGKILL when Stop gives no timeout")
        long stop_timeout_seconds() default 10;
    }

    /** The file in the run dir naming the JVM the driver last started in ({@link JvmMark}). */
    static final String JVM_MARK = "jvm";

    private final DriverContext ctx;
    private final Path nsRoot;
    private final Recovery recovery;

    @Activate
    public RuncDriver(@Reference TaskEvents events, @Reference HostPaths paths, @Reference OrphanExits orphans,
                      Config config) {
        this(events, paths, orphans, RuncSettings.of(config));
    }

    /** For tests and embedding without DS. */
    public RuncDriver(TaskEvents events, HostPaths paths, OrphanExits orphans, RuncSettings settings) {
        super(store(paths), settings.stopTimeout());
        try {
            // The first instance in this JVM binds libc here and makes the JVM a child subreaper (a property of the
            // process that lasts). A later one (upgrade, restart of the bundle) lets its exit watcher bind libc in
            // the background (tens of ms in a fresh class loader) and serves meanwhile; calls needing libc wait.
            Path run = HostFiles.privateDir(paths.runDir(NAME));
            // first: recovery follows a start of the node, so nothing persisted can be in the middle of being made
            // by another instance of this JVM (as during an upgrade), and what a crash left half-made is cleaned up
            boolean first = JvmMark.claim(run.resolve(JVM_MARK));
            if (first) {
                Syscalls.becomeChildSubreaper();
            }
            this.nsRoot = HostFiles.privateDir(run.resolve("ns"));
            Runc runc = new Runc(settings.runcBinary(), run.resolve("runc"), run.resolve("log"));
            this.ctx = new DriverContext(runc, store, events, new ExitWatcher(first), new NamespaceRewriter(),
                    HostFiles.privateDir(run.resolve("tasks")), ProcessHandle.current().pid(), orphans, first);
            this.recovery = new Recovery(ctx, nsRoot);
            if (!first) {
                warmUp(); // a successor: its handover is about to begin
            }
        } catch (IOException e) {
            throw new IllegalStateException("runc driver cannot start: " + e.getMessage(), e);
        }
    }

    /** One JSON file per sandbox under the state dir, in the format earlier versions wrote ({@link PersistedState}). */
    private static PodStore<Sandbox, PersistedState.Sandbox> store(HostPaths paths) {
        try {
            return new PodStore<>(paths.stateDir(NAME), PersistedState.Sandbox.class, PersistedState.Sandbox::id,
                    Sandbox::persisted);
        } catch (IOException e) {
            throw new IllegalStateException("runc driver cannot start: " + e.getMessage(), e);
        }
    }

    /**
     * Stops watching; containers keep running and are picked up again by the next instance's recover(). The host
     * lets no call in once the service is going, and lets the calls inside finish before this runs. Sandboxes
     * released to a successor are no longer in the table: nothing of theirs is touched here.
     */
    @Deactivate
    public void close() {
        // Terminals stay with their holders; the next instance's recover() copies them again.
        for (Sandbox sb : pods.pods()) {
            sb.tasks.stopConsoles();
        }
        ctx.watcher().close(); // reaps nothing: a released sandbox's exited process waits for the successor
    }

    /**
     * Hands one sandbox to the successor: its processes are no longer watched here (an exit already being recorded
     * is persisted first), its terminal copies stop; its record on disk is what the successor adopts.
     */
    @Override
    public void release(String sandboxId) throws SandboxException {
        releasePod(sandboxId).tasks.release();
    }

    @Override
    protected Sandbox restore(PersistedState.Sandbox persisted) {
        return recovery.restore(persisted);
    }

    /** The step of recover() and of adopt() (a sandbox a predecessor released): re-attaches to what runs of it. */
    @Override
    protected void resume(Sandbox sb) {
        recovery.resume(sb);
    }

    @Override
    protected Sandbox newPod(String id, SandboxSpec spec) {
        Sandbox sb = Sandbox.of(spec, Instant.now());
        sb.tasks = new RuncTasks(sb, ctx);
        return sb;
    }

    /** Pins the pod's namespaces and writes the files a pause container's pod gets from CRI. */
    @Override
    protected SandboxStarted startPod(Sandbox sb) throws SandboxException {
        if (!sb.netnsPath.isEmpty() && !Files.exists(Path.of(sb.netnsPath))) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "network namespace " + sb.netnsPath + " of sandbox " + sb.id + " does not exist");
        }
        Path nsDir = nsRoot.resolve(sb.id);
        PodNamespaces.Holder holder = null;
        try {
            PodNamespaces.pin(nsDir, sb.hostname, sb.hostIpc());
            // What a pause container's pod gets from CRI (hosts, resolv.conf, hostname, /dev/shm, sysctls).
            PodNamespaces.writePodFiles(nsDir, sb.hostname, sb.podConfig, sb.hostIpc());
            PodNamespaces.applySysctls(nsDir, sb.netnsPath, sb.podConfig == null ? Map.of() : sb.podConfig.sysctls());
            if (sb.sharesPid()) {
                holder = PodNamespaces.startPidHolder();
            }
        } catch (IllegalArgumentException e) {
            releaseQuietly(nsDir);
            throw SandboxException.invalid("sandbox " + sb.id + ": " + e.getMessage());
        } catch (IOException e) {
            PodNamespaces.stopPidHolder(holder);
            releaseQuietly(nsDir);
            throw SandboxException.internal("cannot make the namespaces of sandbox " + sb.id, e);
        }
        synchronized (sb) {
            sb.nsDir = nsDir;
            sb.holder = holder;
            sb.pid = ctx.servedPid(); // CRI writes /proc/<it>/ns/* into container specs, rewritten at task create
            sb.state = SandboxStatus.State.READY;
        }
        store.save(sb);
        return started(sb);
    }

    @Override
    protected void stopPod(Sandbox sb, Duration grace) {
        new PodStopper(sb).stopAll(grace);
        PodNamespaces.stopPidHolder(sb.holder);
    }

    /** Shutdown, or a Start that failed (a sysctl refused, say): containers, namespaces and work files go. */
    @Override
    protected void removePod(Sandbox sb) throws SandboxException {
        new PodStopper(sb).destroyAll();
        PodNamespaces.stopPidHolder(sb.holder);
        try {
            PodNamespaces.release(sb.nsDir != null ? sb.nsDir : nsRoot.resolve(sb.id));
            HostFiles.deleteTree(ctx.workRoot().resolve(sb.id));
        } catch (IOException e) {
            throw SandboxException.internal("cannot clean up sandbox " + sb.id, e);
        }
    }

    @Override
    protected TaskService tasksOf(Sandbox sb) {
        return sb.tasks;
    }

    /** The pod cgroup's metrics, as containerd's CRI reads a pod's cgroup parent ({@link PodCgroup}). */
    @Override
    protected TypedData metricsOf(Sandbox sb) throws SandboxException {
        return PodCgroup.metrics(sb.id, podCgroup(sb));
    }

    /** The pod's resources, written to its cgroup: a cap on all its containers together. */
    @Override
    protected void updateResources(Sandbox sb, JsonNode resources) throws SandboxException {
        PodCgroup.apply(sb.id, podCgroup(sb), resources);
    }

    private static String podCgroup(Sandbox sb) throws SandboxException {
        PodConfig pod;
        synchronized (sb) {
            pod = sb.podConfig;
        }
        return PodCgroup.path(sb.id, pod == null ? "" : pod.cgroupParent(),
                sb.containerList().stream().map(c -> c.bundle).toList());
    }

    /** First: a half-made container's removal must end its holder. */
    @Override
    protected void beforeRecovery() {
        Terminals.recordLeftHolders(ctx.workRoot());
    }

    private static void releaseQuietly(Path nsDir) {
        try {
            PodNamespaces.release(nsDir);
        } catch (IOException ignored) {
            // the start failure is what matters; shutdown retries the cleanup
        }
    }
}
