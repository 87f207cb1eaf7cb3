package io.kuasar.wasm.engine;

import java.time.Instant;

/**
 * How a module ended.
 *
 * @param exitCode the process-style status: proc_exit's code, 128 + signal when killed, 137 when it ran out of its
 *                 memory limit, 134 for a trap (as an abort would), 1 when the engine failed to run it
 * @param reason   why, in one word
 * @param message  for a person: the trap or failure, empty for a normal exit
 */
public record RunOutcome(int exitCode, Reason reason, String message, Instant exitedAt) {
    public enum Reason { EXITED, KILLED, OOM_KILLED, TRAPPED, FAILED }
}
