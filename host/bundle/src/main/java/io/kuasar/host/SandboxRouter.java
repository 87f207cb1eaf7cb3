package io.kuasar.host;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TypedData;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/**
 * containerd's sandbox Controller, routed. Each call names the sandboxer containerd asked for; an unknown sandboxer
 * or sandbox id is NOT_FOUND with a message naming it, an invalid id INVALID_ARGUMENT before anything is touched.
 */
@ProviderType
public interface SandboxRouter {
    SandboxStatus create(String sandboxer, SandboxSpec spec) throws SandboxException;

    SandboxStarted start(String sandboxer, String sandboxId) throws SandboxException;

    Platform platform(String sandboxer, String sandboxId) throws SandboxException;

    void stop(String sandboxer, String sandboxId, Duration timeout) throws SandboxException;

    CompletionStage<ExitStatus> exit(String sandboxer, String sandboxId) throws SandboxException;

    SandboxStatus status(String sandboxer, String sandboxId, boolean verbose) throws SandboxException;

    void shutdown(String sandboxer, String sandboxId) throws SandboxException;

    TypedData metrics(String sandboxer, String sandboxId) throws SandboxException;

    void update(String sandboxer, SandboxSpec spec, Collection<String> fields) throws SandboxException;

    /** One call on the Task API of a sandbox, made by {@link #task}. */
    @FunctionalInterface
    interface TaskCall<T> {
        T on(TaskService tasks) throws SandboxException;
    }

    /**
     * Makes {@code call} on the task service of {@code sandboxId}, on the driver instance serving its sandboxer when
     * the call is let in (after a bounded wait while that driver is being replaced). NOT_FOUND for an unknown sandbox.
     */
    <T> T task(String sandboxId, TaskCall<T> call) throws SandboxException;

    /**
     * {@link #task} for a call that only reads (State, Stats, Pids, Connect): a driver instance that is leaving answers
     * it even while it holds long calls back for its successor.
     *
     * @since 2.2
     */
    default <T> T readTask(String sandboxId, TaskCall<T> call) throws SandboxException {
        return task(sandboxId, call);
    }

    /** Task Wait: the exit of a container or exec, answered once even when the serving driver is replaced meanwhile. */
    CompletionStage<ExitStatus> waitTask(String sandboxId, String id, String execId) throws SandboxException;

    /** Every sandbox known to a present driver. */
    Collection<SandboxStatus> sandboxes();

    void addListener(SandboxListener listener);

    void removeListener(SandboxListener listener);
}
