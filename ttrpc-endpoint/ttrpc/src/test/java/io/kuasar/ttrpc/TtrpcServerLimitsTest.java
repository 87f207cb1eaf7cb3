package io.kuasar.ttrpc;

import com.google.protobuf.ByteString;
import io.kuasar.ttrpc.proto.Response;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the server refuses and bounds: oversized frames, calls in flight, slow readers, connections, garbage. */
class TtrpcServerLimitsTest extends EchoServerFixture {
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
}
