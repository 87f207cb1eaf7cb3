package io.kuasar.e2e;

import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The keeper (host/keeper) on its own, no containerd: our ttrpc server stands in for the JVM's Task API
 * (the backend), our ttrpc client for containerd, and {@code sh -c ... exec sleep} for the supervised JVM.
 * Tests share one keeper and run in order: the last one stops it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(120)
class KeeperRelayTest {
    /**
     * The stand-in JVM: records its pid, once leaves a long-lived detached process (a "container"), each time
     * leaves an orphan (reparented to the keeper) that exits 7 once the test has read what it needs of it (the file
     * orphan.release appears; at most 60 s: a slow machine must not lose the race), then sleeps. The orphan's pid
     * goes to orphan.pid through a temporary file, so a reader never sees it half-written.
     */
    private static final String SUPERVISED = """
            d="$KUASAR_KEEPER_DIR"
            echo $$ >> "$d/cmd.pids"
            [ -e "$d/container.pid" ] || ( sleep 1000 >/dev/null 2>&1 & echo $! > "$d/container.pid" )
            ( (n=0; while [ ! -e "$d/orphan.release" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done; exit 7) &
              echo $! > "$d/orphan.pid.tmp" && mv "$d/orphan.pid.tmp" "$d/orphan.pid" )
            exec sleep 1000
            """;

    private Path tmp, dir, log, pub, back;
    private Process keeper;
    private KeeperControl control;
    private TtrpcServer backend;
    private final ExecutorService handlers = Executors.newCachedThreadPool();

    @BeforeAll
    void startKeeper() throws Exception {
        tmp = Files.createTempDirectory("kk"); // short: Unix socket paths are limited to 107 bytes
        Path bin = KeeperControl.binary(tmp);
        dir = tmp.resolve("keeper");
        log = tmp.resolve("keeper.log");
        // Exit records of a previous keeper: one older than the default week, one fresh.
        Files.createDirectories(dir.resolve("exits"));
        Files.writeString(dir.resolve("exits/4242-1"), "4242 3 0\n");
        Files.setLastModifiedTime(dir.resolve("exits/4242-1"),
                java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(Duration.ofDays(8))));
        Files.writeString(dir.resolve("exits/4343-1"), "4343 4 0\n");
        pub = tmp.resolve("pub.sock");
        back = tmp.resolve("back.sock");
        keeper = new ProcessBuilder(bin.toString(), "--dir", dir.toString(), "--restart-delay-ms", "200",
                "--log", log.toString(), "--", "sh", "-c", SUPERVISED)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("keeper.out").toFile()).start();
        await("control socket", () -> Files.exists(dir.resolve("control.sock")));
        control = new KeeperControl(dir.resolve("control.sock"));
        assertEquals(List.of("PONG"), control.command("PING"));
        assertEquals(keeper.pid(), Long.parseLong(Files.readString(dir.resolve("keeper.pid")).trim()));
        backend = backend("A", null);
    }

    @AfterAll
    void cleanUp() throws Exception {
        if (backend != null) backend.close();
        if (keeper != null && keeper.isAlive()) keeper.destroyForcibly().waitFor();
        handlers.shutdownNow();
        if (tmp == null) return;
        for (String f : List.of("container.pid", "orphan.pid")) {
            Path p = dir.resolve(f);
            if (Files.exists(p)) ProcessHandle.of(Long.parseLong(Files.readString(p).trim())).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (Path p : List.of(log, tmp.resolve("keeper.out"))) {
            if (Files.exists(p)) System.out.println("---- " + p.getFileName() + " ----\n" + Files.readString(p));
        }
        try (var files = Files.walk(tmp)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    @Order(0)
    void exitRecordsOlderThanAWeekArePrunedAtStartAndFreshOnesKept() {
        assertFalse(Files.exists(dir.resolve("exits/4242-1")), "the 8-day-old record is gone");
        assertTrue(Files.exists(dir.resolve("exits/4343-1")), "a fresh record stays for its reader");
    }

    @Test
    @Order(1)
    void orphanOfTheSupervisedCommandGetsAnExitRecord() throws Exception {
        await("orphan pid", () -> Files.exists(dir.resolve("orphan.pid")));
        long pid = Long.parseLong(Files.readString(dir.resolve("orphan.pid")).trim());
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat")); // alive until released
        String start = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19]; // field 22
        Files.createFile(dir.resolve("orphan.release"));
        Path record = dir.resolve("exits").resolve(pid + "-" + start);
        await("exit record " + record, () -> Files.exists(record));
        String[] fields = Files.readString(record).split(" ");
        assertEquals(String.valueOf(pid), fields[0]);
        assertEquals("7", fields[1]);
        long exitedAt = Long.parseLong(fields[2].trim());
        assertTrue(Math.abs(System.currentTimeMillis() * 1_000_000L - exitedAt) < 10_000_000_000L, "exited_at " + exitedAt);
        assertTrue(Files.readString(record).endsWith("\n"));
    }

    @Test
    @Order(2)
    void callThroughKeeperReachesBackendWithMetadata() throws Exception {
        assertEquals(List.of("OK"), control.command("LISTEN " + pub + " " + back));
        assertEquals(List.of("OK"), control.command("LISTEN " + pub + " " + back), "idempotent");
        assertTrue(control.command("LISTEN " + pub + " /elsewhere.sock").get(0).startsWith("ERR "));
        assertEquals(List.of("L " + pub + " " + back, "END"), control.command("LIST"));
        assertEquals("0600", mode(pub));
        try (TtrpcClient client = TtrpcClient.connect(pub)) {
            assertEquals("A:k8s.io:abc:hello", echo(client, "Echo", "hello").join());
        }
    }

    @Test
    @Order(3)
    void hundredConcurrentCalls() throws Exception {
        try (TtrpcClient client = TtrpcClient.connect(pub)) {
            List<CompletableFuture<String>> calls = new ArrayList<>();
            for (int i = 0; i < 100; i++) calls.add(echo(client, "Echo", "c" + i));
            for (int i = 0; i < 100; i++) assertEquals("A:k8s.io:abc:c" + i, calls.get(i).get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    @Order(4)
    void pendingAndNewRequestsAreReplayedWhenTheBackendReturns() throws Exception {
        CountDownLatch hangSeen = new CountDownLatch(1);
        long replayedBefore = KeeperNode.stat(dir, "replayed_requests");
        backend.close();
        backend = backend("A", hangSeen); // this one never answers Hang
        try (TtrpcClient client = TtrpcClient.connect(pub)) {
            assertEquals("A:k8s.io:abc:warm", echo(client, "Echo", "warm").join());
            CompletableFuture<String> pending = echo(client, "Hang", "one");
            assertTrue(hangSeen.await(10, TimeUnit.SECONDS), "the backend got the request");
            backend.close(); // the JVM dies with the request unanswered
            backend = null;
            Thread.sleep(200);
            CompletableFuture<String> whileDown1 = echo(client, "Echo", "two");
            CompletableFuture<String> whileDown2 = echo(client, "Hang", "three");
            Thread.sleep(500);
            assertFalse(pending.isDone() || whileDown1.isDone() || whileDown2.isDone(), "nothing answers while down");
            assertTrue(client.isOpen(), "containerd's connection stays open");
            backend = backend("B", null); // the restarted JVM
            assertEquals("B:k8s.io:abc:one", pending.get(10, TimeUnit.SECONDS));
            assertEquals("B:k8s.io:abc:two", whileDown1.get(10, TimeUnit.SECONDS));
            assertEquals("B:k8s.io:abc:three", whileDown2.get(10, TimeUnit.SECONDS));
            assertEquals("B:k8s.io:abc:after", echo(client, "Echo", "after").join());
        }
        assertTrue(Files.readString(log).contains("3 requests replayed"), "log says what was replayed");
        assertEquals(replayedBefore + 3, KeeperNode.stat(dir, "replayed_requests"), "counted in the stats file");
    }

    @Test
    @Order(5)
    void garbageHeaderClosesOnlyThatConnection() throws Exception {
        try (TtrpcClient good = TtrpcClient.connect(pub);
             SocketChannel bad = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            bad.connect(UnixDomainSocketAddress.of(pub));
            bad.write(ByteBuffer.wrap(new byte[] {0, 0, 0, 1, 0, 0, 0, 1, 9, 0, 42}));
            assertEquals(-1, bad.read(ByteBuffer.allocate(16)), "the keeper closes the bad connection");
            assertEquals("B:k8s.io:abc:still", echo(good, "Echo", "still").join());
        }
    }

    @Test
    @Order(6)
    void oversizedRequestIsRelayedAndAnsweredByTheBackend() throws Exception {
        try (SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            raw.connect(UnixDomainSocketAddress.of(pub));
            int length = 5 << 20;
            ByteBuffer frame = ByteBuffer.allocate(10 + length);
            frame.putInt(length).putInt(1).put((byte) 1).put((byte) 0).position(0);
            while (frame.hasRemaining()) raw.write(frame);
            ByteBuffer header = ByteBuffer.allocate(10);
            while (header.hasRemaining() && raw.read(header) >= 0) { }
            header.flip();
            assertEquals(10, header.remaining(), "a response header came back");
            header.getInt();
            assertEquals(1, header.getInt(), "stream id");
            assertEquals(2, header.get(), "a response");
        }
    }

    @Test
    @Order(7)
    void closeClosesContainerdsConnection() throws Exception {
        TtrpcClient client = TtrpcClient.connect(pub);
        assertEquals("B:k8s.io:abc:x", echo(client, "Echo", "x").join());
        assertEquals(List.of("OK"), control.command("CLOSE " + pub));
        client.closeFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertFalse(Files.exists(pub));
        assertEquals(List.of("END"), control.command("LIST"));
        assertEquals(List.of("OK"), control.command("CLOSE " + pub), "unknown is fine");
        // A control client of a restarted JVM: a new connection works the same.
        control.close();
        control = new KeeperControl(dir.resolve("control.sock"));
        assertEquals(List.of("OK"), control.command("LISTEN " + pub + " " + back));
    }

    @Test
    @Order(8)
    void measureLatencyAndMemory() throws Exception {
        long[] direct = new long[1000], relayed = new long[1000];
        try (TtrpcClient d = TtrpcClient.connect(back); TtrpcClient k = TtrpcClient.connect(pub)) {
            for (int i = 0; i < 2000; i++) { // warm both paths up (JIT), then alternate so drift hits both alike
                echo(d, "Echo", "w").join();
                echo(k, "Echo", "w").join();
            }
            for (int i = 0; i < 1000; i++) {
                direct[i] = timeMicros(d);
                relayed[i] = timeMicros(k);
            }
        }
        Arrays.sort(direct);
        Arrays.sort(relayed);
        System.out.printf("keeper latency: median of 1000 small calls: direct %d us, through the keeper %d us,"
                + " added %d us%n", direct[500], relayed[500], relayed[500] - direct[500]);
        long before = pss(keeper.pid());
        List<TtrpcClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 100; i++) clients.add(TtrpcClient.connect(pub));
            List<CompletableFuture<String>> calls = new ArrayList<>();
            for (TtrpcClient c : clients) calls.add(echo(c, "Echo", "m"));
            for (CompletableFuture<String> c : calls) assertEquals("B:k8s.io:abc:m", c.get(20, TimeUnit.SECONDS));
            long fds;
            try (var list = Files.list(Path.of("/proc/" + keeper.pid() + "/fd"))) {
                fds = list.count();
            }
            System.out.printf("keeper PSS: %d KiB before, %d KiB with 100 relayed connections open (%d fds)%n",
                    before, pss(keeper.pid()), fds);
        } finally {
            clients.forEach(TtrpcClient::close);
        }
    }

    @Test
    @Order(9)
    void supervisedCommandIsRestartedAfterKill9() throws Exception {
        long first = lastCommandPid();
        long starts = KeeperNode.stat(dir, "jvm_starts");
        ProcessHandle.of(first).orElseThrow().destroyForcibly(); // SIGKILL
        await("a restarted command", () -> lastCommandPid() != first);
        long second = lastCommandPid();
        assertTrue(ProcessHandle.of(second).map(ProcessHandle::isAlive).orElse(false));
        await("the killed one reaped", () -> ProcessHandle.of(first).isEmpty());
        String text = Files.readString(log);
        assertTrue(text.contains("killed by signal 9") && text.contains("JVM restarted: pid " + second), text);
        // the stats file is written just after the log line
        await("the restart counted in the stats file", () -> KeeperNode.stat(dir, "jvm_starts") == starts + 1);
    }

    @Test
    @Order(10)
    void sigtermStopsTheCommandAndTheKeeperButNoContainer() throws Exception {
        long command = lastCommandPid();
        long container = Long.parseLong(Files.readString(dir.resolve("container.pid")).trim());
        keeper.destroy(); // SIGTERM
        assertTrue(keeper.waitFor(15, TimeUnit.SECONDS), "keeper exits");
        assertEquals(0, keeper.exitValue());
        assertTrue(ProcessHandle.of(command).isEmpty(), "the supervised command is gone and reaped");
        assertTrue(ProcessHandle.of(container).map(ProcessHandle::isAlive).orElse(false), "containers keep running");
        assertFalse(Files.exists(dir.resolve("control.sock")) || Files.exists(pub) || Files.exists(dir.resolve("keeper.pid")));
        ProcessHandle.of(container).ifPresent(ProcessHandle::destroyForcibly);
    }

    // ---- helpers ----

    private TtrpcServer backend(String name, CountDownLatch hangSeen) throws IOException {
        return KeeperControl.echoBackend(back, handlers, name, hangSeen);
    }

    private static CompletableFuture<String> echo(TtrpcClient client, String method, String value) {
        return KeeperControl.echo(client, method, value);
    }

    private static long timeMicros(TtrpcClient client) {
        long t0 = System.nanoTime();
        echo(client, "Echo", "p").join();
        return (System.nanoTime() - t0) / 1000;
    }

    private static long pss(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            if (line.startsWith("Pss:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no Pss line");
    }

    private long lastCommandPid() throws IOException {
        List<String> pids = Files.readAllLines(dir.resolve("cmd.pids"));
        return Long.parseLong(pids.get(pids.size() - 1).trim());
    }

    private static String mode(Path p) throws IOException {
        return String.format("%04o", (Integer) Files.getAttribute(p, "unix:mode") & 0777);
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void await(String what, Condition done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!done.holds()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }
}
