package io.kuasar.spi;

import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * One isolation technology. Registered as an OSGi service with {@link #SANDBOXER} naming the sandboxer(s) it
 * serves; modelled on containerd's {@code sandbox.Controller}. Every method is given an id the host has already
 * validated with {@link Identifiers}; a sandbox id the driver does not know is {@link SandboxException.Code#NOT_FOUND}.
 */
@ConsumerType
public interface SandboxDriver {
    /** Service property: the sandboxer name(s) (String or String[]) this driver serves. */
    String SANDBOXER = "kuasar.sandboxer";

    /** Records a new sandbox and persists it; starts nothing. ALREADY_EXISTS if the id is taken. */
    SandboxStatus create(SandboxSpec spec) throws SandboxException;

    /** Makes the sandbox ready for containers and says where its Task API is served. */
    SandboxStarted start(String sandboxId) throws SandboxException;

    /** The platform containers of this sandbox must be built for. */
    default Platform platform(String sandboxId) throws SandboxException {
        return Platform.HOST;
    }

    /** Stops every container of the sandbox (SIGTERM, then SIGKILL after {@code timeout}); idempotent. */
    void stop(String sandboxId, Duration timeout) throws SandboxException;

    /** Completes when the sandbox has stopped, with its exit status. */
    CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException;

    SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException;

    /** Removes everything the sandbox made: processes, mounts, cgroups, files. Idempotent for a known id. */
    void shutdown(String sandboxId) throws SandboxException;

    default TypedData metrics(String sandboxId) throws SandboxException {
        throw SandboxException.unimplemented("metrics");
    }

    /** Applies the changed fields of {@code spec} to a running sandbox. */
    default void update(SandboxSpec spec, Collection<String> fields) throws SandboxException {
        throw SandboxException.unimplemented("update");
    }

    /** The Task API of one sandbox, for a sandbox whose {@link SandboxStarted#taskAddress()} was empty. */
    TaskService tasks(String sandboxId) throws SandboxException;

    /**
     * Reloads the sandboxes this driver persisted, re-attaching to their processes; called by the host each time
     * the driver service arrives (first start, restart of the host, upgrade of the driver). Task events published
     * from inside it (exits found while re-attaching) reach containerd once it has returned their sandbox.
     */
    Collection<SandboxStatus> recover();
}
