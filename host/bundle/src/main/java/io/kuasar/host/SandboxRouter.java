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

    /** The Task API of a sandbox the host serves. */
    TaskService tasks(String sandboxId) throws SandboxException;

    /** Every sandbox known to a present driver. */
    Collection<SandboxStatus> sandboxes();

    void addListener(SandboxListener listener);

    void removeListener(SandboxListener listener);
}
