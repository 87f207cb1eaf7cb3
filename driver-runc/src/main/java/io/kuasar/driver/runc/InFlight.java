package io.kuasar.driver.runc;

import io.kuasar.spi.SandboxException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The requests this driver instance is serving. An upgrade deactivates the instance while containerd may be in the
 * middle of a call (a runc process started, not yet watched): closing waits for those calls to finish, so no call
 * is cut in half; a call that arrives after closing began is refused UNAVAILABLE with nothing done, and the router
 * passes it to the next instance.
 */
final class InFlight {
    private static final Logger LOG = System.getLogger(InFlight.class.getName());

    /** One call's hold on the instance; released by close(). */
    interface Call extends AutoCloseable {
        @Override
        void close();
    }

    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closing;

    /** Enters a call; UNAVAILABLE once the instance is closing. */
    Call enter() throws SandboxException {
        lock.readLock().lock();
        if (closing) {
            lock.readLock().unlock();
            throw new SandboxException(SandboxException.Code.UNAVAILABLE, "this runc driver instance is stopping");
        }
        return () -> lock.readLock().unlock();
    }

    /** Refuses new calls and waits (bounded) for the running ones. */
    void closeAndDrain(Duration bound) {
        closing = true;
        try {
            if (lock.writeLock().tryLock(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                lock.writeLock().unlock();
            } else {
                LOG.log(Level.WARNING, "calls still running after " + bound + "; stopping anyway");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
