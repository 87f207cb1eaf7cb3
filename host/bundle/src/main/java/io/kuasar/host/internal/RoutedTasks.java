package io.kuasar.host.internal;

import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The Task API of one sandbox as the endpoint sees it: every call is passed to the driver serving the sandbox
 * <em>at the time of the call</em> (waiting at the router's gate while it is being replaced), so a task socket keeps
 * working across a driver upgrade; Wait is asked again of the new driver when the one asked leaves.
 */
final class RoutedTasks implements TaskService {
    /** Resolves the sandbox's current driver, through the gate. */
    interface Resolver {
        SandboxDriver driverOf(String sandboxId) throws SandboxException;

        String sandboxerOf(String sandboxId) throws SandboxException;
    }

    private final String sandboxId;
    private final Resolver resolver;
    private final PendingStages pending;

    RoutedTasks(String sandboxId, Resolver resolver, PendingStages pending) {
        this.sandboxId = sandboxId;
        this.resolver = resolver;
        this.pending = pending;
    }

    private TaskService now() throws SandboxException {
        return resolver.driverOf(sandboxId).tasks(sandboxId);
    }

    /** A call on the sandbox's task service. */
    private interface Call<T> {
        T on(TaskService tasks) throws SandboxException;
    }

    /** A call without an answer. */
    private interface Run {
        void on(TaskService tasks) throws SandboxException;
    }

    /**
     * Makes the call on the current driver. A driver instance that is being stopped refuses calls it has not begun
     * with UNAVAILABLE, having done nothing: the call is made once more, on whichever instance the gate hands out
     * now (the successor, once it has recovered).
     */
    private <T> T call(Call<T> call) throws SandboxException {
        TaskService current = now(); // the gate's own UNAVAILABLE is final
        try {
            try {
                return call.on(current);
            } catch (SandboxException e) {
                if (e.code() != SandboxException.Code.UNAVAILABLE) {
                    throw e;
                }
                return call.on(now());
            }
        } catch (SandboxException e) {
            throw e.code() == SandboxException.Code.UNIMPLEMENTED ? namingSandboxer(e) : e;
        }
    }

    /** An UNIMPLEMENTED answer says which sandboxer gave it: "X is not implemented by the runsc sandboxer". */
    private SandboxException namingSandboxer(SandboxException e) {
        String sandboxer;
        try {
            sandboxer = resolver.sandboxerOf(sandboxId);
        } catch (SandboxException gone) {
            return e;
        }
        String m = String.valueOf(e.getMessage());
        String named = m.endsWith(" by this driver") ? m.replace(" by this driver", " by the " + sandboxer + " sandboxer")
                : m.contains(sandboxer) ? m : "the " + sandboxer + " sandboxer: " + m;
        return new SandboxException(e.code(), named, e);
    }

    private void run(Run run) throws SandboxException {
        call(t -> {
            run.on(t);
            return null;
        });
    }

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        return call(t -> t.create(spec));
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        return call(t -> t.start(id, execId));
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        return call(t -> t.delete(id, execId));
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        return call(t -> t.pids(id));
    }

    @Override
    public void pause(String id) throws SandboxException {
        run(t -> t.pause(id));
    }

    @Override
    public void resume(String id) throws SandboxException {
        run(t -> t.resume(id));
    }

    @Override
    public void checkpoint(String id, String path, TypedData options) throws SandboxException {
        run(t -> t.checkpoint(id, path, options));
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        run(t -> t.kill(id, execId, signal, all));
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        run(t -> t.exec(spec));
    }

    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        run(t -> t.resizePty(id, execId, width, height));
    }

    @Override
    public void closeIO(String id, String execId, boolean stdin) throws SandboxException {
        run(t -> t.closeIO(id, execId, stdin));
    }

    @Override
    public void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        run(t -> t.update(id, resources, annotations));
    }

    @Override
    public CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException {
        String what = "Wait for " + id + (execId.isEmpty() ? "" : " exec " + execId) + " of sandbox " + sandboxId;
        PendingStages.Ask<ExitStatus> ask = d -> d.tasks(sandboxId).waitFor(id, execId);
        SandboxDriver driver = resolver.driverOf(sandboxId); // the gate's own UNAVAILABLE is final
        try {
            return pending.ask(resolver.sandboxerOf(sandboxId), what, driver, ask);
        } catch (SandboxException e) {
            if (e.code() != SandboxException.Code.UNAVAILABLE) {
                throw e;
            }
            // asked of an instance being stopped: ask its successor (see call())
            return pending.ask(resolver.sandboxerOf(sandboxId), what, resolver.driverOf(sandboxId), ask);
        }
    }

    @Override
    public TypedData stats(String id) throws SandboxException {
        return call(t -> t.stats(id));
    }

    @Override
    public TaskState state(String id, String execId) throws SandboxException {
        return call(t -> t.state(id, execId));
    }

    @Override
    public ConnectInfo connect(String id) throws SandboxException {
        return call(t -> t.connect(id));
    }

    @Override
    public void shutdown(String id, boolean now) throws SandboxException {
        run(t -> t.shutdown(id, now));
    }
}
