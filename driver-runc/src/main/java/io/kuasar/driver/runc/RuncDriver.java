package io.kuasar.driver.runc;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.HostPaths;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskEvents;
import io.kuasar.spi.TaskService;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
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
 * them through pidfds. Everything is persisted per sandbox so a restarted driver re-attaches ({@link #recover()}).
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=runc")
@Designate(ocd = RuncDriver.Config.class)
public class RuncDriver implements SandboxDriver {
    static final String NAME = "runc";

    @ObjectClassDefinition(name = "Kuasar runc driver", pid = "io.kuasar.driver.runc")
    public @interface Config {
        @AttributeDefinition(description = "runc executable; empty means /usr/sbin/runc if present, else runc on PATH")
        String runc_binary() default "";

        @AttributeDefinition(description = "Seconds between SIGTERM and SIGKILL when Stop gives no timeout")
        long stop_timeout_seconds() default 10;
    }

    private final DriverContext ctx;
    private final Path nsRoot;
    private final Map<String, Sandbox> sandboxes = new ConcurrentHashMap<>();
    /** Ids shut down by this instance, so a repeated Shutdown succeeds as the SPI asks. */
    private final Set<String> shutDown = ConcurrentHashMap.newKeySet();

    /** The file in the run dir naming the JVM the driver last started in ({@link JvmMark}). */
    static final String JVM_MARK = "jvm";

    @Activate
    public RuncDriver(@Reference TaskEvents events, @Reference HostPaths paths, @Reference OrphanExits orphans,
                      Config config) {
        this(events, paths, orphans, RuncSettings.of(config));
    }

    /** For tests and embedding without DS. */
    public RuncDriver(TaskEvents events, HostPaths paths, OrphanExits orphans, RuncSettings settings) {
        try {
            // The first instance in this JVM binds libc here and makes the JVM a child subreaper (a property of the
            // process that lasts). A later one (upgrade, restart of the bundle) lets its exit watcher bind libc in
            // the background (tens of ms in a fresh class loader) and serves meanwhile; calls needing libc wait.
            Path run = FileOps.privateDir(paths.runDir(NAME));
            // first: recovery follows a start of the node, so nothing persisted can be in the middle of being made
            // by another instance of this JVM (as during an upgrade), and what a crash left half-made is cleaned up
            boolean first = JvmMark.claim(run.resolve(JVM_MARK));
            if (first) {
                Syscalls.becomeChildSubreaper();
            }
            this.nsRoot = FileOps.privateDir(run.resolve("ns"));
            Runc runc = new Runc(settings.runcBinary(), run.resolve("runc"), run.resolve("log"));
            this.ctx = new DriverContext(runc, new StateStore(paths.stateDir(NAME)), events, new ExitWatcher(first),
                    new NamespaceRewriter(), FileOps.privateDir(run.resolve("tasks")), ProcessHandle.current().pid(),
                    settings.stopTimeout(), orphans, first);
        } catch (IOException e) {
            throw new IllegalStateException("runc driver cannot start: " + e.getMessage(), e);
        }
    }

    /**
     * Stops watching; containers keep running and are picked up again by the next instance's recover(). The host
     * lets no call in once the service is going, and lets the calls inside finish before this runs.
     */
    @Deactivate
    public void close() {
        // Terminals stay with their holders; the next instance's recover() copies them again.
        for (Sandbox sb : sandboxes.values()) {
            for (Container c : sb.containerList()) {
                stopConsole(c.init);
                c.execs.values().forEach(RuncDriver::stopConsole);
            }
        }
        ctx.watcher().close();
    }

    private static void stopConsole(Proc p) {
        Console console = p.console;
        if (console != null) {
            console.stop();
        }
    }

    private SandboxStatus doCreate(SandboxSpec spec) throws SandboxException {
        String id = Identifiers.validate("sandbox", spec.id());
        Sandbox sb = Sandbox.of(spec, Instant.now());
        sb.tasks = new RuncTasks(sb, ctx);
        if (sandboxes.putIfAbsent(id, sb) != null || ctx.store().exists(id)) {
            sandboxes.remove(id, sb);
            throw new SandboxException(SandboxException.Code.ALREADY_EXISTS, "sandbox " + id + " already exists");
        }
        try {
            sb.tasks.exits().persist();
        } catch (SandboxException e) {
            sandboxes.remove(id, sb);
            throw e;
        }
        shutDown.remove(id);
        return sb.status(false);
    }

    private SandboxStarted doStart(String sandboxId) throws SandboxException {
        Sandbox sb = sandbox(sandboxId);
        sb.lifecycle.lock();
        try {
            synchronized (sb) {
                if (sb.state == SandboxStatus.State.READY) {
                    return SandboxStarted.servedByHost(sb.pid, sb.createdAt);
                }
                if (sb.state == SandboxStatus.State.NOTREADY) {
                    throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                            "sandbox " + sb.id + " was stopped and cannot be started again");
                }
            }
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
                PodNamespaces.applySysctls(nsDir, sb.netnsPath,
                        sb.podConfig == null ? Map.of() : sb.podConfig.sysctls());
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
                sb.pid = ctx.servedPid();
                sb.state = SandboxStatus.State.READY;
            }
            sb.tasks.exits().persist();
            // This JVM's pid: CRI writes /proc/<it>/ns/* into container specs, rewritten at task create.
            return SandboxStarted.servedByHost(ctx.servedPid(), sb.createdAt);
        } finally {
            sb.lifecycle.unlock();
        }
    }

    private void doStop(String sandboxId, Duration timeout) throws SandboxException {
        Sandbox sb = sandbox(sandboxId);
        sb.lifecycle.lock();
        try {
            if (sb.exit.isDone()) {
                return;
            }
            Duration grace = timeout == null || timeout.isZero() || timeout.isNegative() ? ctx.stopTimeout() : timeout;
            new PodStopper(sb, ctx).stopAll(grace);
            PodNamespaces.stopPidHolder(sb.holder);
            Instant now = Instant.now();
            synchronized (sb) {
                sb.state = SandboxStatus.State.NOTREADY;
                sb.exitedAt = now;
            }
            sb.tasks.exits().persist();
            sb.exit.complete(new ExitStatus(0, 0, now));
        } finally {
            sb.lifecycle.unlock();
        }
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException {
        return sandbox(sandboxId).exit.copy();
    }

    @Override
    public SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException {
        return sandbox(sandboxId).status(verbose);
    }

    private void doShutdown(String sandboxId) throws SandboxException {
        Identifiers.validate("sandbox", sandboxId);
        Sandbox sb = sandboxes.get(sandboxId);
        if (sb == null) {
            if (shutDown.contains(sandboxId)) {
                return;
            }
            throw SandboxException.notFound("sandbox", sandboxId);
        }
        sb.lifecycle.lock();
        try {
            new PodStopper(sb, ctx).destroyAll();
            PodNamespaces.stopPidHolder(sb.holder);
            try {
                PodNamespaces.release(sb.nsDir != null ? sb.nsDir : nsRoot.resolve(sb.id));
                FileOps.deleteTree(ctx.workRoot().resolve(sb.id));
            } catch (IOException e) {
                throw SandboxException.internal("cannot clean up sandbox " + sb.id, e);
            }
            ctx.store().remove(sb.id);
            sandboxes.remove(sb.id, sb);
            shutDown.add(sb.id);
            sb.exit.complete(new ExitStatus(0, 0, Instant.now()));
        } finally {
            sb.lifecycle.unlock();
        }
    }

    @Override
    public SandboxStatus create(SandboxSpec spec) throws SandboxException {
        return doCreate(spec);
    }

    @Override
    public SandboxStarted start(String sandboxId) throws SandboxException {
        try {
            return doStart(sandboxId);
        } catch (SandboxException | RuntimeException e) {
            forgetFailed(sandboxId, e);
            throw e;
        }
    }

    /**
     * Removes a sandbox whose Start failed (a sysctl refused, say), as Shutdown would: containerd 2.1's CRI gives
     * up on such a sandbox without calling Stop or Shutdown, so its record would otherwise stay for good. A sandbox
     * that is READY (a repeated Start) or stopped is left alone; a later Shutdown of the id still succeeds.
     */
    private void forgetFailed(String sandboxId, Exception cause) {
        Sandbox sb = sandboxes.get(sandboxId);
        if (sb == null) {
            return;
        }
        synchronized (sb) {
            if (sb.state != SandboxStatus.State.CREATED) {
                return;
            }
        }
        try {
            doShutdown(sandboxId);
        } catch (SandboxException | RuntimeException e) {
            e.addSuppressed(cause);
            System.getLogger(RuncDriver.class.getName()).log(System.Logger.Level.WARNING,
                    "cannot clean up sandbox " + sandboxId + " after its failed start", e);
        }
    }

    @Override
    public void stop(String sandboxId, Duration timeout) throws SandboxException {
        doStop(sandboxId, timeout);
    }

    @Override
    public void shutdown(String sandboxId) throws SandboxException {
        doShutdown(sandboxId);
    }

    @Override
    public TaskService tasks(String sandboxId) throws SandboxException {
        return sandbox(sandboxId).tasks;
    }

    @Override
    public Collection<SandboxStatus> recover() {
        return new Recovery(ctx, sandboxes, nsRoot).run();
    }

    private Sandbox sandbox(String id) throws SandboxException {
        Sandbox sb = sandboxes.get(Identifiers.validate("sandbox", id));
        if (sb == null) {
            throw SandboxException.notFound("sandbox", id);
        }
        return sb;
    }

    private static void releaseQuietly(Path nsDir) {
        try {
            PodNamespaces.release(nsDir);
        } catch (IOException ignored) {
            // the start failure is what matters; shutdown retries the cleanup
        }
    }
}
