package io.kuasar.driver.runc;

import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskSpec;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** A sandbox's task service as handed out: every call counts as {@link InFlight} for the driver instance. */
final class GuardedTasks implements TaskService {
    private final InFlight inFlight;
    private final TaskService tasks;

    GuardedTasks(InFlight inFlight, TaskService tasks) {
        this.inFlight = inFlight;
        this.tasks = tasks;
    }

    @Override
    public long create(TaskSpec spec) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.create(spec);
        }
    }

    @Override
    public long start(String id, String execId) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.start(id, execId);
        }
    }

    @Override
    public ExitStatus delete(String id, String execId) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.delete(id, execId);
        }
    }

    @Override
    public List<ProcessInfo> pids(String id) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.pids(id);
        }
    }

    @Override
    public void pause(String id) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.pause(id);
        }
    }

    @Override
    public void resume(String id) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.resume(id);
        }
    }

    @Override
    public void checkpoint(String id, String path, TypedData options) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.checkpoint(id, path, options);
        }
    }

    @Override
    public void kill(String id, String execId, int signal, boolean all) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.kill(id, execId, signal, all);
        }
    }

    @Override
    public void exec(ExecSpec spec) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.exec(spec);
        }
    }

    @Override
    public void resizePty(String id, String execId, int width, int height) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.resizePty(id, execId, width, height);
        }
    }

    @Override
    public void closeIO(String id, String execId, boolean stdin) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.closeIO(id, execId, stdin);
        }
    }

    @Override
    public void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.update(id, resources, annotations);
        }
    }

    @Override
    public CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.waitFor(id, execId);
        }
    }

    @Override
    public TypedData stats(String id) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.stats(id);
        }
    }

    @Override
    public TaskState state(String id, String execId) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.state(id, execId);
        }
    }

    @Override
    public ConnectInfo connect(String id) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            return tasks.connect(id);
        }
    }

    @Override
    public void shutdown(String id, boolean now) throws SandboxException {
        try (InFlight.Call c = inFlight.enter()) {
            tasks.shutdown(id, now);
        }
    }
}
