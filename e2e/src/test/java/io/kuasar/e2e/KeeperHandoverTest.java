package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.MethodHandler;
import io.kuasar.ttrpc.RequestContext;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The keeper's handover at a stop under systemd (host/keeper/handover.c, holder.c): containerd's connection and the
 * pod's listener go to the next keeper, with the requests still unanswered, which it replays to its JVM. No systemd
 * here: NOTIFY_SOCKET names nothing, so every FDSTORE is refused and the fds reach the next keeper through the
 * holder, the path `systemctl stop` takes on systemd 252. (packaging's SystemdServiceTest runs both under a real
 * systemd, with containerd.) Our ttrpc client stands in for containerd, our server for the JVM's Task API.
 */
@Timeout(120)
class KeeperHandoverTest {
    private static final Pattern HOLDER = Pattern.compile("holder pid (\\d+) keeps (\\d+) fds");
    private final ExecutorService handlers = Executors.newCachedThreadPool();
    private Path tmp;
    private Process keeper;
    private TtrpcServer backend;
    private long holder;

    @Test
    void aStopAnswersWhatItCanAndTheNextKeeperReplaysTheRestOnContainerdsOwnConnection() throws Exception {
        tmp = Files.createTempDirectory("kh"); // short: Unix socket paths are limited to 107 bytes
        Path bin = KeeperControl.binary(tmp), dir = tmp.resolve("keeper"), log = tmp.resolve("keeper.log");
        Path pub = tmp.resolve("pub.sock"), back = tmp.resolve("back.sock");
        CountDownLatch waitSeen = new CountDownLatch(1), slowSeen = new CountDownLatch(1);
        backend = backend(back, "A", waitSeen, slowSeen);
        keeper = start(bin, dir, log, "sleep", "1000");
        try (KeeperControl control = new KeeperControl(dir.resolve("control.sock"))) {
            assertEquals(List.of("OK"), control.command("LISTEN " + pub + " " + back));
        }
        TtrpcClient client = TtrpcClient.connect(pub);
        assertEquals("A:k8s.io:abc:warm", KeeperControl.echo(client, "Echo", "warm").join());
        CompletableFuture<String> waiting = KeeperControl.echo(client, "Wait", "w"); // answered at a process's exit
        assertTrue(waitSeen.await(10, TimeUnit.SECONDS), "the backend got the Wait");
        CompletableFuture<String> slow = KeeperControl.echo(client, "Slow", "s"); // answered 500 ms later
        assertTrue(slowSeen.await(10, TimeUnit.SECONDS), "the backend got the Slow call");

        keeper.destroy(); // SIGTERM, as systemd's stop
        assertEquals("A:k8s.io:abc:s", slow.get(10, TimeUnit.SECONDS), "an answer in flight still reaches containerd");
        assertTrue(keeper.waitFor(15, TimeUnit.SECONDS) && keeper.exitValue() == 0, "the keeper stops");
        String first = Files.readString(log);
        assertTrue(first.contains("handing over once every answer in flight went out"),
                "a pending Wait does not hold the stop for the drain time:\n" + first);
        Matcher held = HOLDER.matcher(first);
        assertTrue(held.find() && held.group(2).equals("2"), "a holder keeps the listener and the connection:\n" + first);
        holder = Long.parseLong(held.group(1));
        assertEquals(holder, Long.parseLong(Files.readString(dir.resolve("holder.pid")).trim()), "for the prerm");
        assertEquals("kuasar-holder", Files.readString(Path.of("/proc/" + holder + "/comm")).trim());
        assertTrue(Files.exists(pub), "the pod's socket file stays for the next keeper");
        Thread.sleep(300);
        assertTrue(client.isOpen() && !waiting.isDone(), "containerd's connection stays open, the Wait pending");

        backend.close(); // the JVM went with its keeper; the next keeper's JVM answers everything
        backend = backend(back, "B", null, new CountDownLatch(1));
        keeper = start(bin, dir, log, "sleep", "1000");
        assertEquals("B:k8s.io:abc:w", waiting.get(20, TimeUnit.SECONDS), "the Wait replayed to the new JVM");
        assertEquals("B:k8s.io:abc:after", KeeperControl.echo(client, "Echo", "after").get(10, TimeUnit.SECONDS));
        try (TtrpcClient another = TtrpcClient.connect(pub)) {
            assertEquals("B:k8s.io:abc:new", KeeperControl.echo(another, "Echo", "new").get(10, TimeUnit.SECONDS),
                    "the pod's listener was handed over too");
        }
        client.close();
        String second = Files.readString(log).substring(first.length());
        assertTrue(second.contains("2 more by the holder") && second.contains("took 1 listeners and 1 connections")
                && second.contains("1 requests replayed"), second);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcessHandle.of(holder).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(ProcessHandle.of(holder).map(ProcessHandle::isAlive).orElse(false), "the holder left once emptied");
        assertFalse(Files.exists(dir.resolve("handover")) || Files.exists(dir.resolve("holder.pid")),
                "the handed-over state is consumed");
    }

    @Test
    void aStopWhileNoJvmRunsEndsTheKeeperAtOnce() throws Exception {
        tmp = Files.createTempDirectory("kh");
        Path dir = tmp.resolve("keeper"), log = tmp.resolve("keeper.log");
        keeper = start(KeeperControl.binary(tmp), dir, log, "true"); // exits; the next start is a minute away
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(log).contains("JVM exited") && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        keeper.destroy();
        assertTrue(keeper.waitFor(5, TimeUnit.SECONDS), "the keeper ended after its handover, with no JVM to wait for");
    }

    /** A keeper under "systemd": NOTIFY_SOCKET set (to nothing), a drain time far above what the test needs. */
    private static Process start(Path bin, Path dir, Path log, String... jvm) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(bin.toString(), "--dir", dir.toString(),
                "--handover-drain-ms", "8000", "--restart-delay-ms", "60000", "--log", log.toString(), "--"));
        command.addAll(List.of(jvm));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("NOTIFY_SOCKET", dir.getParent().resolve("no-systemd.sock").toString());
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!Files.exists(dir.resolve("keeper.pid")) || Long.parseLong(Files.readString(dir.resolve("keeper.pid")).trim()) != p.pid()) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("the keeper did not start; see " + log);
            }
            Thread.sleep(20);
        }
        return p;
    }

    /** The JVM's stand-in: Echo answers at once, Slow after 500 ms, Wait never if {@code waitSeen} is given. */
    private TtrpcServer backend(Path back, String name, CountDownLatch waitSeen, CountDownLatch slowSeen)
            throws IOException {
        TtrpcServer server = new TtrpcServer(handlers);
        MethodHandler.Typed<StringValue> answer = (ctx, req) -> CompletableFuture.completedFuture(reply(name, ctx, req));
        server.register(KeeperControl.SERVICE, "Echo", MethodHandler.of(StringValue.parser(), answer));
        server.register(KeeperControl.SERVICE, "Slow", MethodHandler.of(StringValue.parser(), (ctx, req) -> {
            slowSeen.countDown();
            CompletableFuture<StringValue> later = new CompletableFuture<>();
            CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS).execute(() -> later.complete(reply(name, ctx, req)));
            return later;
        }));
        server.register(KeeperControl.SERVICE, "Wait", MethodHandler.of(StringValue.parser(), waitSeen == null ? answer
                : (ctx, req) -> {
                    waitSeen.countDown();
                    return new CompletableFuture<StringValue>();
                }));
        server.listen(back);
        return server;
    }

    private static StringValue reply(String name, RequestContext ctx, StringValue req) {
        return StringValue.of(name + ":" + ctx.metadataValue("containerd-namespace-ttrpc").orElse("-") + ":"
                + ctx.metadataValue("x-test").orElse("-") + ":" + req.getValue());
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (backend != null) backend.close();
        if (keeper != null && keeper.isAlive()) {
            keeper.descendants().forEach(ProcessHandle::destroyForcibly);
            keeper.destroyForcibly().waitFor(); // SIGKILL: no second holder
        }
        if (holder > 0) ProcessHandle.of(holder).ifPresent(ProcessHandle::destroyForcibly);
        handlers.shutdownNow();
        if (tmp == null) return;
        Path log = tmp.resolve("keeper.log");
        if (Files.exists(log)) System.out.println("---- keeper.log ----\n" + Files.readString(log));
        try (var files = Files.walk(tmp)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
