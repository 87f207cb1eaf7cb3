package io.kuasar.ttrpc;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Empty;
import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.proto.KeyValue;
import io.kuasar.ttrpc.proto.Request;
import io.kuasar.ttrpc.proto.Response;
import io.netty.channel.EventLoopGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server and client over real Unix sockets, plus {@link RawConnection} for what a normal client cannot send. */
@Timeout(60)
class TtrpcServerTest {
    static final String SERVICE = "test.v1.Echo";
    static final Duration SHORT = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    Path socket;
    ExecutorService handlerExecutor;
    ScheduledExecutorService timers;
    TtrpcServer server;
    TtrpcClient client;
    EventLoopGroup clientGroup;
    final AtomicReference<RequestContext> lastContext = new AtomicReference<>();
    final AtomicInteger echoCalls = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        handlerExecutor = Executors.newCachedThreadPool();
        timers = Executors.newSingleThreadScheduledExecutor();
        server = new TtrpcServer(handlerExecutor);
        server.register(SERVICE, "Echo", (ctx, payload) -> {
            echoCalls.incrementAndGet();
            lastContext.set(ctx);
            return CompletableFuture.completedFuture(payload);
        });
        server.register(SERVICE, "Upper", MethodHandler.of(StringValue.parser(), (ctx, request) ->
                CompletableFuture.completedFuture(StringValue.of(request.getValue().toUpperCase()))));
        server.register(SERVICE, "After", (ctx, payload) -> { // answers its payload after that many ms
            long millis = Long.parseLong(payload.toStringUtf8().split(":")[0]);
            CompletableFuture<ByteString> answer = new CompletableFuture<>();
            timers.schedule(() -> answer.complete(payload), millis, TimeUnit.MILLISECONDS);
            return answer;
        });
        server.register(SERVICE, "Never", (ctx, payload) -> {
            lastContext.set(ctx);
            return new CompletableFuture<Empty>();
        });
        server.register(SERVICE, "NotFound", (ctx, payload) -> {
            throw new TtrpcException(new TtrpcStatus(TtrpcCode.NOT_FOUND.value(), "no such container",
                    List.of(Any.pack(StringValue.of("c1")))));
        });
        server.register(SERVICE, "Broken", (ctx, payload) ->
                CompletableFuture.failedFuture(new IllegalStateException("disk on fire")));
        socket = dir.resolve("ttrpc.sock");
        server.listen(socket);
        clientGroup = TtrpcEventLoops.newGroup(1, "test-client");
        client = TtrpcClient.connect(socket, clientGroup); // its own loop, like containerd in another process
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        handlerExecutor.shutdownNow();
        timers.shutdownNow();
    }

    static TtrpcException failure(CompletableFuture<?> future) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(10, TimeUnit.SECONDS));
        return assertInstanceOf(TtrpcException.class, e.getCause());
    }

    static ByteString utf8(String s) {
        return ByteString.copyFromUtf8(s);
    }

    static byte[] request(String method, String payload, long timeoutNanos) {
        return Request.newBuilder().setService(SERVICE).setMethod(method).setPayload(utf8(payload))
                .setTimeoutNano(timeoutNanos).build().toByteArray();
    }

    static Response response(RawConnection.RawFrame frame) throws Exception {
        assertEquals(2, frame.type(), "a response frame");
        assertEquals(0, frame.flags());
        return Response.parseFrom(frame.payload());
    }

    @Test
    void echoesBytesAndTypedMessages() throws Exception {
        assertEquals(utf8("hi"), client.call(SERVICE, "Echo", utf8("hi"), Map.of(), null).get(5, TimeUnit.SECONDS));
        StringValue upper = client.call(SERVICE, "Upper", StringValue.of("quiet"), Map.of(), SHORT, StringValue.parser())
                .get(5, TimeUnit.SECONDS);
        assertEquals("QUIET", upper.getValue());
    }

    @Test
    void requestContextCarriesMetadataDeadlineSocketAndStreamIds() throws Exception {
        Map<String, String> metadata = Map.of("containerd-namespace-ttrpc", "k8s.io", "trace", "abc");
        client.call(SERVICE, "Echo", utf8("1"), metadata, Duration.ofSeconds(30)).get(5, TimeUnit.SECONDS);
        RequestContext first = lastContext.get();
        assertEquals(SERVICE, first.service());
        assertEquals("Echo", first.method());
        assertEquals(Map.of("containerd-namespace-ttrpc", List.of("k8s.io"), "trace", List.of("abc")), first.metadata());
        assertEquals("k8s.io", first.metadataValue("containerd-namespace-ttrpc").orElseThrow());
        assertEquals(Duration.ofSeconds(30), first.timeout().orElseThrow());
        assertTrue(first.deadline().isPresent());
        assertFalse(first.isExpired());
        assertEquals(socket, first.socket());
        assertEquals(1, first.streamId());

        client.call(SERVICE, "Echo", utf8("2"), Map.of(), null).get(5, TimeUnit.SECONDS);
        RequestContext second = lastContext.get();
        assertEquals(3, second.streamId(), "client stream ids are odd and increasing");
        assertEquals(Map.of(), second.metadata());
        assertTrue(second.timeout().isEmpty());
        assertEquals(first.connection().id(), second.connection().id());
        assertEquals(ProcessHandle.current().pid(), second.connection().peerPid());
    }

    @Test
    void repeatedMetadataKeysKeepAllValuesInOrder() throws Exception {
        try (RawConnection raw = new RawConnection(socket)) {
            Request request = Request.newBuilder().setService(SERVICE).setMethod("Echo")
                    .addMetadata(KeyValue.newBuilder().setKey("k").setValue("v1"))
                    .addMetadata(KeyValue.newBuilder().setKey("k").setValue("v2")).build();
            raw.sendFrame(1, 1, 0, request.toByteArray());
            assertEquals(0, response(raw.read(SHORT)).getStatus().getCode());
        }
        assertEquals(List.of("v1", "v2"), lastContext.get().metadata().get("k"));
        assertEquals("v1", lastContext.get().metadataValue("k").orElseThrow());
    }

    @Test
    void unknownServiceAndMethodAreUnimplemented() {
        TtrpcException noService = failure(client.call("nope.v1.Svc", "Echo", utf8(""), Map.of(), SHORT));
        assertEquals(TtrpcCode.UNIMPLEMENTED, noService.code());
        assertEquals("service nope.v1.Svc is not implemented", noService.status().message());

        TtrpcException noMethod = failure(client.call(SERVICE, "Shout", utf8(""), Map.of(), SHORT));
        assertEquals(TtrpcCode.UNIMPLEMENTED, noMethod.code());
        assertEquals("method Shout of service " + SERVICE + " is not implemented", noMethod.status().message());
    }

    @Test
    void handlerFailuresBecomeStatuses() {
        TtrpcException notFound = failure(client.call(SERVICE, "NotFound", utf8(""), Map.of(), SHORT));
        assertEquals(TtrpcCode.NOT_FOUND, notFound.code());
        assertEquals("no such container", notFound.status().message());
        assertEquals(List.of(Any.pack(StringValue.of("c1"))), notFound.status().details());

        TtrpcException broken = failure(client.call(SERVICE, "Broken", utf8(""), Map.of(), SHORT));
        assertEquals(TtrpcCode.INTERNAL, broken.code());
        assertEquals("disk on fire", broken.status().message());

        TtrpcException badRequest = failure(client.call(SERVICE, "Upper",
                ByteString.copyFrom(new byte[] {0x0a, 0x64}), Map.of(), SHORT));
        assertEquals(TtrpcCode.INVALID_ARGUMENT, badRequest.code());
    }

    @Test
    void oversizedRequestIsAnsweredResourceExhaustedAndTheConnectionStaysUsable() throws Exception {
        try (RawConnection raw = new RawConnection(socket)) {
            raw.sendHeaderAndZeros((4 << 20) + 1, 1, 1);
            RawConnection.RawFrame answer = raw.read(SHORT);
            assertNotNull(answer);
            assertEquals(1, answer.streamId());
            Response rejected = response(answer);
            assertEquals(TtrpcCode.RESOURCE_EXHAUSTED.value(), rejected.getStatus().getCode());
            assertEquals("message length 4194305 exceeds maximum message size of 4194304",
                    rejected.getStatus().getMessage());

            raw.sendFrame(3, 1, 0, request("Echo", "still here", 0));
            RawConnection.RawFrame next = raw.read(SHORT);
            assertEquals(3, next.streamId());
            Response ok = response(next);
            assertEquals(0, ok.getStatus().getCode());
            assertEquals("still here", ok.getPayload().toStringUtf8());
        }
        assertEquals(1, echoCalls.get());
    }

    @Test
    void clientRejectsOversizedRequestWithoutSendingIt() throws Exception {
        ByteString big = ByteString.copyFrom(new byte[4 << 20]);
        TtrpcException e = failure(client.call(SERVICE, "Echo", big, Map.of(), SHORT));
        assertEquals(TtrpcCode.RESOURCE_EXHAUSTED, e.code());
        assertTrue(e.getMessage().contains("exceeds maximum message size of 4194304"), e.getMessage());
        assertEquals(0, echoCalls.get());
        assertEquals(utf8("ok"), client.call(SERVICE, "Echo", utf8("ok"), Map.of(), SHORT).get(5, TimeUnit.SECONDS));
    }

    /** A peer that sends calls it never lets finish gets RESOURCE_EXHAUSTED beyond the cap, and only that peer. */
    @Test
    void callsInFlightPerConnectionAreCapped() throws Exception {
        int sent = ServerConnectionHandler.MAX_IN_FLIGHT + 20;
        try (RawConnection raw = new RawConnection(socket)) {
            for (int i = 0; i < sent; i++) {
                raw.sendFrame(2 * i + 1, 1, 0, request("Never", "x", 0));
            }
            List<Integer> refused = new ArrayList<>();
            RawConnection.RawFrame f;
            while ((f = raw.read(Duration.ofSeconds(2))) != null) {
                Response r = response(f);
                assertEquals(TtrpcCode.RESOURCE_EXHAUSTED.value(), r.getStatus().getCode(), r.getStatus().getMessage());
                refused.add(f.streamId());
            }
            assertEquals(20, refused.size(), "the calls beyond the cap are refused, the others wait");
            assertEquals(2 * ServerConnectionHandler.MAX_IN_FLIGHT + 1, refused.get(0));
        }
        assertEquals(utf8("others"), client.call(SERVICE, "Echo", utf8("others"), Map.of(), SHORT).get(5, TimeUnit.SECONDS));
    }

    /**
     * A peer that sends and never reads: once its unread answers pass the write buffer's high water mark the server
     * stops reading its requests, so the number of calls it runs for that peer stays bounded however much it sends.
     */
    @Test
    void aPeerThatNeverReadsIsNotReadEither() throws Exception {
        byte[] big = new byte[64 * 1024];
        java.util.Arrays.fill(big, (byte) 'x');
        String payload = new String(big, java.nio.charset.StandardCharsets.US_ASCII);
        int before = echoCalls.get();
        try (RawConnection raw = new RawConnection(socket)) {
            // Sent from another thread: once the server stops reading, the kernel's socket buffers fill and the
            // writer blocks, which is the point.
            Thread writer = new Thread(() -> {
                try {
                    for (int i = 0; i < 2_000; i++) {
                        raw.sendFrame(2 * i + 1, 1, 0, request("Echo", payload, 0));
                    }
                } catch (Exception stopped) {
                    // closed by the test
                }
            });
            writer.setDaemon(true);
            writer.start();
            long end = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            int seen = -1;
            while (System.nanoTime() < end) { // wait until the count stops moving
                Thread.sleep(300);
                int now = echoCalls.get();
                if (now == seen) {
                    break;
                }
                seen = now;
            }
            int answered = echoCalls.get() - before;
            assertTrue(answered < 200, "the server kept reading a peer that never reads: " + answered + " calls run");
            assertTrue(writer.isAlive(), "the peer's writes should be blocked by now");
        }
        assertEquals(utf8("others"), client.call(SERVICE, "Echo", utf8("others"), Map.of(), SHORT).get(5, TimeUnit.SECONDS));
    }

    /** Beyond the cap a connection waits in the kernel's backlog, unserved, until one of the others closes. */
    @Test
    void connectionsBeyondTheCapWaitUntilAnotherCloses() throws Exception {
        List<RawConnection> held = new ArrayList<>();
        try {
            for (int i = 0; i < TtrpcServer.MAX_CONNECTIONS - 1; i++) { // the test's client holds one already
                held.add(new RawConnection(socket));
            }
            try (RawConnection extra = new RawConnection(socket)) {
                extra.sendFrame(1, 1, 0, request("Echo", "waited", 0));
                assertNull(extra.read(Duration.ofSeconds(1)), "served beyond the cap");
                held.remove(0).close();
                RawConnection.RawFrame answer = extra.read(SHORT);
                assertNotNull(answer, "not served once a slot was free");
                assertEquals(0, response(answer).getStatus().getCode());
            }
        } finally {
            for (RawConnection c : held) {
                c.close();
            }
        }
    }

    @Test
    void garbageClosesOnlyThatConnection() throws Exception {
        CompletableFuture<ByteString> slow = client.call(SERVICE, "After", utf8("300:slow"), Map.of(), SHORT);
        try (RawConnection unknownType = new RawConnection(socket);
             RawConnection notARequest = new RawConnection(socket)) {
            unknownType.sendBytes(new byte[] {0, 0, 0, 2, 0, 0, 0, 1, 9, 0, 1, 2});
            notARequest.sendFrame(1, 1, 0, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});
            assertTrue(unknownType.awaitClosed(SHORT), "unknown frame type closes the connection");
            assertTrue(notARequest.awaitClosed(SHORT), "an undecodable request closes the connection");
        }
        assertTrue(client.isOpen());
        assertEquals(utf8("300:slow"), slow.get(5, TimeUnit.SECONDS), "a call in flight on another connection completes");
        assertEquals(utf8("after"), client.call(SERVICE, "Echo", utf8("after"), Map.of(), SHORT).get(5, TimeUnit.SECONDS));
    }

    @Test
    void protocolMistakesAreAnsweredOnTheirStream() throws Exception {
        try (RawConnection raw = new RawConnection(socket)) {
            raw.sendFrame(2, 1, 0, request("Echo", "even", 0));
            Response even = response(raw.read(SHORT));
            assertEquals(TtrpcCode.INVALID_ARGUMENT.value(), even.getStatus().getCode());

            raw.sendFrame(5, 1, 0, request("Echo", "five", 0));
            assertEquals("five", response(raw.read(SHORT)).getPayload().toStringUtf8());
            raw.sendFrame(3, 1, 0, request("Echo", "reused", 0));
            RawConnection.RawFrame reused = raw.read(SHORT);
            assertEquals(3, reused.streamId());
            assertEquals(TtrpcCode.INVALID_ARGUMENT.value(), response(reused).getStatus().getCode());

            raw.sendFrame(9, 3, FrameFlags.REMOTE_CLOSED, new byte[] {1});
            RawConnection.RawFrame data = raw.read(SHORT);
            assertEquals(9, data.streamId());
            assertEquals(TtrpcCode.INVALID_ARGUMENT.value(), response(data).getStatus().getCode());

            raw.sendFrame(11, 1, FrameFlags.REMOTE_OPEN, request("Echo", "stream", 0));
            assertEquals(TtrpcCode.UNIMPLEMENTED.value(), response(raw.read(SHORT)).getStatus().getCode());

            raw.sendFrame(13, 1, 0, request("Echo", "fine", 0));
            assertEquals("fine", response(raw.read(SHORT)).getPayload().toStringUtf8());
        }
        assertEquals(2, echoCalls.get());
    }

    @Test
    void twoHundredConcurrentCallsOnOneConnectionAreAnsweredInCompletionOrder() throws Exception {
        int n = 200;
        List<CompletableFuture<ByteString>> calls = new ArrayList<>();
        List<Integer> completionOrder = Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < n; i++) {
            int index = i;
            long delay = 2L * (n - i); // later calls finish first
            CompletableFuture<ByteString> call = client.call(SERVICE, "After", utf8(delay + ":call-" + i), Map.of(), SHORT);
            call.thenRun(() -> completionOrder.add(index));
            calls.add(call);
        }
        for (int i = 0; i < n; i++) {
            long delay = 2L * (n - i);
            assertEquals(delay + ":call-" + i, calls.get(i).get(10, TimeUnit.SECONDS).toStringUtf8());
        }
        assertEquals(n, completionOrder.size());
        assertTrue(completionOrder.get(0) > n / 2, "first answer was call " + completionOrder.get(0)
                + "; answers must not wait for earlier requests");
    }

    @Test
    void clientTimeoutFailsWithDeadlineExceeded() {
        long start = System.nanoTime();
        TtrpcException e = failure(client.call(SERVICE, "Never", utf8(""), Map.of(), Duration.ofMillis(200)));
        long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
        assertEquals(TtrpcCode.DEADLINE_EXCEEDED, e.code());
        assertTrue(elapsedMillis >= 150 && elapsedMillis < 3000, "took " + elapsedMillis + " ms");
        assertEquals(Duration.ofMillis(200), lastContext.get().timeout().orElseThrow());
    }

    @Test
    void serverAnswersDeadlineExceededAndDropsTheLateAnswer() throws Exception {
        try (RawConnection raw = new RawConnection(socket)) {
            raw.sendFrame(1, 1, 0, request("After", "400:late", TimeUnit.MILLISECONDS.toNanos(100)));
            Response expired = response(raw.read(SHORT));
            assertEquals(TtrpcCode.DEADLINE_EXCEEDED.value(), expired.getStatus().getCode());
            assertTrue(expired.getPayload().isEmpty());
            assertNull(raw.read(Duration.ofMillis(700)), "the handler's late answer must be dropped");

            raw.sendFrame(3, 1, 0, request("Echo", "next", TimeUnit.SECONDS.toNanos(5)));
            assertEquals("next", response(raw.read(SHORT)).getPayload().toStringUtf8());
        }
    }

    @Test
    void closingTheServerFailsPendingCallsWithUnavailable() throws Exception {
        CompletableFuture<ByteString> pending = client.call(SERVICE, "Never", utf8(""), Map.of(), null);
        client.call(SERVICE, "Echo", utf8("sync"), Map.of(), SHORT).get(5, TimeUnit.SECONDS); // Never has arrived
        RequestContext neverContext = lastContext.get();
        server.close();
        assertEquals(TtrpcCode.UNAVAILABLE, failure(pending).code());
        client.closeFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertFalse(client.isOpen());
        assertEquals(TtrpcCode.UNAVAILABLE, failure(client.call(SERVICE, "Echo", utf8(""), Map.of(), SHORT)).code());
        server.close(); // idempotent
        assertFalse(socket.toFile().exists(), "close() removes the socket file");
        assertNotNull(neverContext);
    }

    @Test
    void closingTheServerFailsCallsOfAClientSharingItsEventLoop() throws Exception {
        TtrpcClient sharing = TtrpcClient.connect(socket, server.eventLoopGroup());
        CompletableFuture<ByteString> pending = sharing.call(SERVICE, "Never", utf8(""), Map.of(), null);
        awaitContext("Never");
        server.close();
        assertEquals(TtrpcCode.UNAVAILABLE, failure(pending).code());
        sharing.closeFuture().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertEquals(TtrpcCode.UNAVAILABLE, failure(sharing.call(SERVICE, "Echo", utf8(""), Map.of(), SHORT)).code());
    }

    @Test
    void handlerSeesItsConnectionClose() throws Exception {
        TtrpcClient other = TtrpcClient.connect(socket, clientGroup);
        other.call(SERVICE, "Never", utf8(""), Map.of(), null);
        RequestContext ctx = awaitContext("Never");
        assertFalse(ctx.isConnectionClosed());
        other.close();
        ctx.connectionClosed().toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertTrue(ctx.isConnectionClosed());
        assertTrue(client.isOpen());
    }

    private RequestContext awaitContext(String method) throws InterruptedException {
        long deadline = System.nanoTime() + SHORT.toNanos();
        while (System.nanoTime() < deadline) {
            RequestContext ctx = lastContext.get();
            if (ctx != null && ctx.method().equals(method)) {
                return ctx;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no " + method + " call arrived");
    }
}
