package io.kuasar.ttrpc;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.proto.KeyValue;
import io.kuasar.ttrpc.proto.Request;
import io.kuasar.ttrpc.proto.Response;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server and client over real Unix sockets: calls, metadata, statuses, deadlines, closing. */
class TtrpcServerTest extends EchoServerFixture {
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
        assertEquals(1, first.streamId() & 1, "client stream ids are odd");

        client.call(SERVICE, "Echo", utf8("2"), Map.of(), null).get(5, TimeUnit.SECONDS);
        RequestContext second = lastContext.get();
        assertEquals(first.streamId() + 2, second.streamId(), "client stream ids are odd and increasing");
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
}
