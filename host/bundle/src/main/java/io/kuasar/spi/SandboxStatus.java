package io.kuasar.spi;

import java.time.Instant;
import java.util.Map;

/**
 * What a driver knows of one sandbox.
 *
 * @param id          sandbox id
 * @param sandboxer   the sandboxer it was created through
 * @param namespace   containerd namespace
 * @param state       lifecycle state
 * @param pid         the pid {@link SandboxStarted} returned, 0 before start
 * @param createdAt   when it was created
 * @param exitedAt    when it stopped, or null
 * @param taskAddress the driver's own Task API address, or empty when the host serves it
 * @param info        free-form details for verbose status
 */
public record SandboxStatus(String id, String sandboxer, String namespace, State state, long pid, Instant createdAt,
                            Instant exitedAt, String taskAddress, Map<String, String> info) {
    /** containerd's sandbox states. */
    public enum State { CREATED, READY, NOTREADY }

    public SandboxStatus {
        taskAddress = taskAddress == null ? "" : taskAddress;
        info = info == null ? Map.of() : Map.copyOf(info);
    }
}
