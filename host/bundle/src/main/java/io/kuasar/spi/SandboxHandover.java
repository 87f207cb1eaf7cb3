package io.kuasar.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Optional, beside {@link SandboxDriver} on the same service object: a driver whose instances hand their sandboxes
 * to a successor instance one sandbox at a time. At an upgrade or rollback of a driver bundle the host otherwise
 * stops the leaving instance whole and has its successor {@link SandboxDriver#recover() recover} every sandbox,
 * and a call on any sandbox waits for all of that; with a handover it waits only while its own sandbox changes
 * hands, and a long call on one sandbox (a VM boot) holds up no other.
 *
 * <p>The host hands sandboxes over only when the leaving and the succeeding instance both implement this. For each
 * sandbox the leaving instance holds:
 * <ol>
 * <li>no call on the sandbox is inside the leaving instance, and none enters it from now on;</li>
 * <li>{@link #release} on the leaving instance;</li>
 * <li>{@link #adopt} on the successor, which from then on serves every call on that sandbox.</li>
 * </ol>
 * The successor serves new sandboxes ({@link SandboxDriver#create}) from the start of the handover, and is never asked
 * to {@code recover()} (that is for an instance that starts with no predecessor in this process: what it sets up for
 * every sandbox must be ready at its activation, or made lazily). The leaving instance is deactivated once it holds
 * no sandbox; its deactivation must leave the sandboxes it released alone.
 *
 * @since 1.2
 */
@ConsumerType
public interface SandboxHandover {
    /**
     * Lets go of one sandbox for a successor to adopt: stops watching its processes and closes what this instance
     * holds open for it (connections, pumps, watchers), ending nothing of the sandbox itself, and leaves its state
     * persisted as the successor will read it. After this the instance never touches the sandbox again, nor answers
     * for it ({@link SandboxException.Code#NOT_FOUND}). NOT_FOUND for a sandbox it does not hold.
     */
    void release(String sandboxId) throws SandboxException;

    /**
     * Takes over one sandbox its predecessor released: reads its persisted state and re-attaches to its processes as
     * {@link SandboxDriver#recover()} does for each sandbox, reporting exits that happened meanwhile (as events, and
     * to waits asked afterwards). Returns the sandbox's status; NOT_FOUND when nothing of it is persisted.
     */
    SandboxStatus adopt(String sandboxId) throws SandboxException;
}
