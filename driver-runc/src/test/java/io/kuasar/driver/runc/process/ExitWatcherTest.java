package io.kuasar.driver.runc.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Unwatching one owner's pids (a sandbox handed over): its exited processes are left unreaped for the next watcher,
 * a collection under way finishes first, and other owners' pids are still collected. The processes are orphans
 * reparented to this JVM as a child subreaper, as container inits are, so Java's own reaper never waits for them.
 */
class ExitWatcherTest {
    @BeforeAll
    static void subreaper() throws IOException {
        Syscalls.becomeChildSubreaper();
    }

    @Test
    void unwatchedPidsStayUnreapedForTheNextWatcherWhileOtherOwnersAreStillCollected() throws Exception {
        Object leaving = new Object();
        Object staying = new Object();
        CompletableFuture<Integer> ofLeaving = new CompletableFuture<>();
        CompletableFuture<Integer> ofStaying = new CompletableFuture<>();
        try (ExitWatcher first = new ExitWatcher(true)) {
            long released = orphan("sleep 0.3; exit 3");
            long kept = orphan("sleep 0.3; exit 4");
            first.watch(leaving, released, 0, ofLeaving::complete);
            first.watch(staying, kept, 0, ofStaying::complete);
            first.unwatch(leaving);
            assertEquals(4, ofStaying.get(10, TimeUnit.SECONDS));
            awaitZombie(released);
            assertFalse(ofLeaving.isDone(), "no listener of an unwatched owner runs");

            try (ExitWatcher next = new ExitWatcher(false)) { // the successor's, binding libc on its thread
                CompletableFuture<Integer> collected = new CompletableFuture<>();
                next.watch(leaving, released, 0, collected::complete);
                assertEquals(3, collected.get(10, TimeUnit.SECONDS), "the next watcher collects the exit status");
            }
            assertFalse(ofLeaving.isDone());
        }
    }

    @Test
    void unwatchWaitsForACollectionUnderWay() throws Exception {
        Object owner = new Object();
        CountDownLatch inListener = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        try (ExitWatcher watcher = new ExitWatcher(true)) {
            long pid = orphan("sleep 0.2; exit 5");
            watcher.watch(owner, pid, 0, code -> {
                inListener.countDown();
                await(letGo);
            });
            assertTrue(inListener.await(10, TimeUnit.SECONDS), "the exit reached the listener");
            CompletableFuture<Void> unwatched = CompletableFuture.runAsync(() -> watcher.unwatch(owner));
            Thread.sleep(100);
            assertFalse(unwatched.isDone(), "unwatch returned while the listener of its owner was running");
            letGo.countDown();
            unwatched.get(10, TimeUnit.SECONDS);
            awaitGone(pid); // collected: reaped once the listener returned
        }
    }

    /** Starts {@code script} in the background of a shell that exits at once: its pid, now a child of this JVM. */
    private static long orphan(String script) throws Exception {
        Process sh = new ProcessBuilder("/bin/sh", "-c", "(" + script + ") >/dev/null 2>&1 </dev/null & echo $!")
                .redirectErrorStream(true).start();
        String out = new String(sh.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, sh.waitFor());
        return Long.parseLong(out);
    }

    private static String state(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    private static void awaitZombie(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!state(pid).equals("Z")) { // NoSuchFileException: it was reaped
            assertTrue(System.nanoTime() < deadline, "pid " + pid + " did not exit");
            Thread.sleep(10);
        }
    }

    private static void awaitGone(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try {
            while (true) {
                state(pid);
                assertTrue(System.nanoTime() < deadline, "pid " + pid + " was not reaped");
                Thread.sleep(10);
            }
        } catch (NoSuchFileException gone) {
            // reaped
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
