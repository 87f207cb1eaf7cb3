package io.kuasar.ttrpc;

/**
 * At most one log line per interval for what a peer can trigger at will (a protocol error per connection): a peer
 * looping garbage connections must not fill the node's log or keep its event loop writing. The lines held back are
 * counted and said with the next one let through.
 */
final class LogLimit {
    private final long intervalNanos;
    private long nextAllowed = Long.MIN_VALUE;
    private long held;

    LogLimit(long intervalMillis) {
        this.intervalNanos = intervalMillis * 1_000_000;
    }

    /** Null when this line is held back; else a suffix naming how many were held back before it (maybe ""). */
    synchronized String allow() {
        long now = System.nanoTime();
        if (nextAllowed != Long.MIN_VALUE && now - nextAllowed < 0) {
            held++;
            return null;
        }
        nextAllowed = now + intervalNanos;
        String suffix = held == 0 ? "" : " (" + held + " more like it held back)";
        held = 0;
        return suffix;
    }
}
