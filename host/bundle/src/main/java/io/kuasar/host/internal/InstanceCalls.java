package io.kuasar.host.internal;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The calls one driver instance is serving. When the instance leaves (its bundle is stopped for an upgrade, a
 * rollback or a removal), it first serves on until a moment with no call inside and closes then, so that no call
 * waits for another to end ({@link #closeWhenQuiet}). Where long calls overlap so that no such moment comes, it
 * then stops taking long calls (they wait for the successor) but goes on answering brief ones, so that the long calls
 * inside end and the moment comes without holding a brief call up for their length. Failing that too, the host lets
 * no new call in and waits, bounded, for the calls already in it ({@link #closeAndDrain}). Either way no call is cut
 * in half, whatever the driver, and the instance is deactivated and its successor recovers only after. A call that
 * finds the instance closed, or a long call held, has done nothing, and the gate hands it to the successor.
 */
final class InstanceCalls {
    private static final Logger LOG = System.getLogger(InstanceCalls.class.getName());

    /** One call's hold on the instance, released by close(). */
    interface Entry extends AutoCloseable {
        @Override
        void close();
    }

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;
    /** Set when the instance leaves: the last call out then closes it ({@link #closeWhenQuiet}). */
    private volatile boolean leaving;
    /** Set when no quiet moment came while every call was let in: long calls are held for the successor. */
    private volatile boolean holdingLong;
    private volatile long heldSince;
    private final CountDownLatch quiet = new CountDownLatch(1);
    /** Counted down once no call gets in any more, quietly or not: what held calls wait for. */
    private final CountDownLatch shut = new CountDownLatch(1);

    /**
     * Lets a call in; null once the instance is closed, or for a long call ({@code brief} false) once long calls are
     * held: the call must go to the successor.
     */
    Entry enter(boolean brief) {
        lock.readLock().lock();
        if (closed || (holdingLong && !brief)) {
            lock.readLock().unlock();
            return null;
        }
        return this::exit;
    }

    /** Waits up to {@code bound} until no call gets in any more (a call {@link #enter} refused waits so for the successor). */
    void awaitClosed(Duration bound) throws InterruptedException {
        shut.await(bound.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void exit() {
        lock.readLock().unlock();
        if (leaving && !closed) {
            closeIfQuiet(); // the last call out of a leaving instance closes it, before another gets in
        }
    }

    /**
     * Closes the instance if no call is inside it now; never waits (a sandbox handed over at once, or the last call
     * out of a leaving instance).
     */
    boolean closeIfQuiet() {
        if (!lock.writeLock().tryLock()) {
            return false;
        }
        closed = true;
        lock.writeLock().unlock();
        quiet.countDown();
        shut.countDown();
        return true;
    }

    /**
     * Closes the instance at the first moment no call is inside it, waiting up to {@code quietBound} while it goes on
     * letting every call in, then up to {@code holdBound} while it lets only brief calls in. True when it closed so;
     * the caller then has nothing to drain. A leaving instance's calls would otherwise hold up every new call for as
     * long as the longest of them runs (a gVisor or VM sandbox Start, a long exec: half a second to seconds), which
     * is most of an upgrade's gap. The moment is caught by the call that leaves last, however short it is.
     */
    boolean closeWhenQuiet(Duration quietBound, Duration holdBound) {
        leaving = true;
        if (closeIfQuiet() || awaitQuiet(quietBound)) {
            return true;
        }
        heldSince = System.nanoTime();
        holdingLong = true; // long calls overlapping each other left no moment: let no new one begin here
        return closeIfQuiet() || awaitQuiet(holdBound);
    }

    private boolean awaitQuiet(Duration bound) {
        try {
            return quiet.await(bound.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** When long calls began to be held ({@link System#nanoTime}), 0 if they never were; for the log. */
    long heldSince() {
        return heldSince;
    }

    /** How many calls are inside now, for the log. */
    int inside() {
        return lock.getReadLockCount();
    }

    /**
     * Lets no new call in and waits up to {@code bound} for the calls inside. Returns whether they all ended; the
     * caller stops the instance either way (a call stuck past the bound must not hold an upgrade for ever).
     */
    boolean closeAndDrain(Duration bound, String instance) {
        closed = true;
        shut.countDown();
        try {
            if (lock.writeLock().tryLock(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                lock.writeLock().unlock();
                return true;
            }
            LOG.log(Level.WARNING, "calls still running on {0} after {1} ms; it is stopped anyway", instance,
                    bound.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false;
    }
}
