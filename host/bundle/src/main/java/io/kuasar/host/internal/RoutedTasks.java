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

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        return now().create(spec);
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        return now().start(id, execId);
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        return now().delete(id, execId);
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        return now().pids(id);
    }

    @Override
    public void pause(String id) throws SandboxException {
        now().pause(id);
    }

    @Override
    public void resume(String id) throws SandboxException {
        now().resume(id);
    }

    @Override
    public void checkpoint(String id, String path, TypedData options) throws SandboxException {
        now().checkpoint(id, path, options);
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        now().kill(id, execId, signal, all);
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        now().exec(spec);
    }

    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        now().resizePty(id, execId, width, height);
    }

    @Override
    public void closeIO(String id, String execId, boolean stdin) throws SandboxException {
        now().closeIO(id, execId, stdin);
    }

    @Override
    public void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        now().update(id, resources, annotations);
    }

    @Override
    public CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException {
        SandboxDriver driver = resolver.driverOf(sandboxId);
        String what = "Wait for " + id + (execId.isEmpty() ? "" : " exec " + execId) + " of sandbox " + sandboxId;
        return pending.ask(resolver.sandboxerOf(sandboxId), what, driver,
                d -> d.tasks(sandboxId).waitFor(id, execId));
    }

    @Override
    public TypedData stats(String id) throws SandboxException {
        return now().stats(id);
    }

    @Override
    public TaskState state(String id, String execId) throws SandboxException {
        return now().state(id, execId);
    }

    @Override
    public ConnectInfo connect(String id) throws SandboxException {
        return now().connect(id);
    }

    @Override
    public void shutdown(String id, boolean now) throws SandboxException {
        now().shutdown(id, now);
    }
}
