package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {
    @Test
    void threadsAreDaemonsRunningTheirTask() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        Thread t = DaemonThreads.named("kuasar-test", 256 * 1024).newThread(ran::countDown);
        assertTrue(t.isDaemon(), "a daemon: it must not hold the node JVM's exit");
        t.start();
        assertTrue(ran.await(10, TimeUnit.SECONDS), "the task ran");
    }

    @Test
    void theFirstKeepsTheNameAndFurtherOnesAreNumbered() {
        ThreadFactory f = DaemonThreads.named("kuasar-test");
        List<String> names = List.of(f.newThread(() -> { }).getName(), f.newThread(() -> { }).getName(),
                f.newThread(() -> { }).getName());
        assertEquals(List.of("kuasar-test", "kuasar-test-2", "kuasar-test-3"), names);
        assertEquals("kuasar-test", DaemonThreads.named("kuasar-test").newThread(() -> { }).getName(),
                "each factory counts its own threads");
    }
}
