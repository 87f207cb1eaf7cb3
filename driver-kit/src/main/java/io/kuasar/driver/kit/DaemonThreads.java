package io.kuasar.driver.kit;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Threads of a driver's own: daemons, so one stuck in a blocking call (a FIFO nobody reads, a QMP socket) never holds
 * up the node JVM's exit, and named, so a thread dump says whose they are.
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /**
     * A factory of daemon threads: the first is named {@code name}, any further ones {@code name-2}, {@code name-3}...
     * So an executor of one thread (or a factory made for one thread) keeps the plain name, and a pool's threads can
     * be told apart.
     */
    public static ThreadFactory named(String name) {
        return named(name, 0);
    }

    /** As {@link #named(String)}, with {@code stackBytes} of stack per thread (0: the JVM's default). */
    public static ThreadFactory named(String name, long stackBytes) {
        AtomicInteger made = new AtomicInteger();
        return task -> {
            int n = made.incrementAndGet();
            Thread t = new Thread(null, task, n == 1 ? name : name + "-" + n, stackBytes);
            t.setDaemon(true);
            return t;
        };
    }
}
