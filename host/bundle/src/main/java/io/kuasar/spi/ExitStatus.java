package io.kuasar.spi;

import java.time.Instant;

/**
 * How a process or sandbox ended.
 *
 * @param pid      the process id it had (0 for a sandbox)
 * @param code     exit code, or 128 + signal number when killed by a signal
 * @param exitedAt when it ended
 */
public record ExitStatus(long pid, int code, Instant exitedAt) {
    /** containerd's code for "exit status unknown". */
    public static final int UNKNOWN_CODE = 255;
}
