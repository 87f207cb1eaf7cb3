package io.kuasar.spi;

import java.time.Instant;

/**
 * The state of one process of a container.
 *
 * @param id         container id
 * @param execId     exec id, empty for init
 * @param bundle     the container's bundle
 * @param pid        host pid, 0 before create
 * @param status     lifecycle status
 * @param stdio      its stdio
 * @param exitStatus exit code once stopped
 * @param exitedAt   when it stopped, or null
 */
public record TaskState(String id, String execId, String bundle, long pid, Status status, Stdio stdio,
                        int exitStatus, Instant exitedAt) {
    /** containerd's task statuses. */
    public enum Status { UNKNOWN, CREATED, RUNNING, STOPPED, PAUSED, PAUSING }
}
