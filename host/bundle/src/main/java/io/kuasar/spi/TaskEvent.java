package io.kuasar.spi;

import java.time.Instant;
import java.util.List;

/** A task event of containerd's {@code /tasks/*} topics, tagged with the sandbox it happened in. */
public sealed interface TaskEvent {
    String sandboxId();

    String containerId();

    record Created(String sandboxId, String containerId, String bundle, List<Mount> rootfs, Stdio stdio,
                   String checkpoint, long pid) implements TaskEvent {
    }

    record Started(String sandboxId, String containerId, long pid) implements TaskEvent {
    }

    /** {@code execId} is empty for the init process (containerd then reports the container id as the id). */
    record Exited(String sandboxId, String containerId, String execId, ExitStatus exit) implements TaskEvent {
    }

    record Deleted(String sandboxId, String containerId, String execId, ExitStatus exit) implements TaskEvent {
    }

    record ExecAdded(String sandboxId, String containerId, String execId) implements TaskEvent {
    }

    record ExecStarted(String sandboxId, String containerId, String execId, long pid) implements TaskEvent {
    }

    record Paused(String sandboxId, String containerId) implements TaskEvent {
    }

    record Resumed(String sandboxId, String containerId) implements TaskEvent {
    }

    record OutOfMemory(String sandboxId, String containerId) implements TaskEvent {
    }

    record Checkpointed(String sandboxId, String containerId, String checkpoint, Instant at) implements TaskEvent {
    }
}
