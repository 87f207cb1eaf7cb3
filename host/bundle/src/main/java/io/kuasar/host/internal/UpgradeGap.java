package io.kuasar.host.internal;

/**
 * Where the time went between a driver instance leaving and its successor serving, for the log (operators and
 * bench/driver-upgrade.sh read it): the drain of its calls, the wait for its deactivation, the recovery; and, when
 * long calls were held back before it left, how long the first of them could have waited. Times are
 * {@link System#nanoTime} readings; {@code heldAt} 0 when long calls were never held back.
 */
record UpgradeGap(long heldAt, long leftAt, long drainedAt, long stoppedAt) {
    String describe(long servingAt) {
        return String.format(" after a gap of %d ms (drain %d, deactivation %d, recovery %d)%s",
                ms(servingAt - leftAt), ms(drainedAt - leftAt), ms(stoppedAt - drainedAt), ms(servingAt - stoppedAt),
                heldAt == 0 ? "" : String.format("; long calls held back %d ms", ms(servingAt - heldAt)));
    }

    private static long ms(long nanos) {
        return nanos / 1_000_000;
    }
}
