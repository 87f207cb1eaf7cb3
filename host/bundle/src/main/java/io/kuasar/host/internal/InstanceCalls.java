package io.kuasar.host.internal;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The calls one driver instance is serving. When the instance leaves (its bundle is stopped for an upgrade, a
 * rollback or a removal), the host lets no new call in and waits, bounded, for the calls already in it, before the
 * instance is deactivated and its successor recovers: no call is cut in half, whatever the driver. A call that finds
 * the instance closed has done nothing, and the gate hands it to the successor.
 */
final class InstanceCalls {
    private static final Logger LOG = System.getLogger(InstanceCalls.class.getName());

    /** One call's hold on the instance, released by close(). */
    interface Entry extends AutoCloseable {
        @Override
        void close();
    }

    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;

    /** Lets a call in; null once the instance is closed (the call must go elsewhere). */
    Entry enter() {
        lock.readLock().lock();
        if (closed) {
            lock.readLock().unlock();
            return null;
        }
        return () -> lock.readLock().unlock();
    }

    /**
     * Lets no new call in and waits up to {@code bound} for the calls inside. Returns whether they all ended; the
     * caller stops the instance either way (a call stuck past the bound must not hold an upgrade for ever).
     */
    boolean closeAndDrain(Duration bound, String instance) {
        closed = true;
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
