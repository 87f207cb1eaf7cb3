package io.kuasar.ttrpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.kuasar.host.fuzz.FuzzInput;
import io.kuasar.host.fuzz.FuzzSeeds;
import io.kuasar.ttrpc.fuzz.ReferenceFrames.Event;
import io.kuasar.ttrpc.fuzz.ReferenceFrames.Kind;
import io.kuasar.ttrpc.fuzz.ReferenceFrames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import java.lang.reflect.Method;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code ttrpc-frame-decoder}: the bytes a peer sends, cut into reads at points the input chooses, go
 * through {@link FrameDecoder}. What it emits must be exactly what {@link ReferenceFrames} (the protocol as stated)
 * says, whatever the cuts: frames with their payload, an {@link OversizedFrame} once its payload went by, one
 * {@link CorruptedFrameException} for an unknown type and nothing after it. Memory stays bounded: the decoder never
 * holds more than one incomplete frame of at most the limit, and nothing of an oversized payload.
 *
 * <p>Input: byte 0 picks the limit (even: that value, 0..254; odd: the real 4 MiB), byte 1 seeds the cuts, the
 * rest is the stream.
 */
class FrameDecoderFuzzTest {
    private static final Method BUFFERED = bufferedBytes();
    private static final java.lang.reflect.Field SKIPPING = skippedHeader();

    @FuzzTest(maxDuration = "10s")
    void frames(byte[] data) throws Exception {
        FuzzInput in = new FuzzInput(data);
        int pick = in.u8();
        int limit = (pick & 1) == 0 ? pick : FrameHeader.MAX_PAYLOAD_LENGTH;
        long cuts = in.u8() * 2654435761L + 1;
        byte[] stream = in.rest();
        List<Event> want = ReferenceFrames.split(stream, limit);

        FrameDecoder decoder = new FrameDecoder(limit);
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        int next = 0; // index in want
        int pos = 0;
        boolean corrupted = false;
        try {
            while (pos < stream.length) {
                cuts = cuts * 6364136223846793005L + 1442695040888963407L;
                int n = (int) Math.min(stream.length - pos, 1 + ((cuts >>> 33) % 48));
                if (((cuts >>> 20) & 7) == 0) {
                    n = stream.length - pos;
                }
                ByteBuf chunk = Unpooled.wrappedBuffer(stream, pos, n);
                pos += n;
                boolean thrown = false;
                try {
                    ch.writeInbound(chunk);
                } catch (CorruptedFrameException e) {
                    assertFalse(corrupted, "a second CorruptedFrameException");
                    corrupted = thrown = true;
                }
                Object msg;
                while ((msg = ch.readInbound()) != null) {
                    try {
                        assertTrue(next < want.size(), "emitted " + msg + " that the protocol does not have");
                        Event e = want.get(next++);
                        assertTrue(e.end() <= pos, "emitted " + e + " before its last byte arrived (at " + pos + ")");
                        check(e, msg, limit);
                    } finally {
                        io.netty.util.ReferenceCountUtil.release(msg);
                    }
                }
                if (thrown) { // after the frames that came before it in the same read
                    assertTrue(next < want.size() && want.get(next).kind() == Kind.CORRUPT,
                            "CorruptedFrameException where the protocol has " + (next < want.size() ? want.get(next) : "nothing"));
                    assertTrue(want.get(next).end() <= pos, "corruption reported before its header arrived");
                    next++;
                }
                // Everything the protocol completes with the bytes read so far has been emitted.
                if (next < want.size() && want.get(next).end() <= pos) {
                    fail("the decoder held back " + want.get(next) + " with " + pos + " bytes read");
                }
                // ...and what it keeps is at most one incomplete frame, never an oversized payload.
                int held = (int) BUFFERED.invoke(decoder);
                assertTrue(held < 10 + limit, "the decoder holds " + held + " bytes with a limit of " + limit);
                if (SKIPPING.get(decoder) != null) {
                    assertEquals(0, held, "the decoder keeps bytes of an oversized payload");
                }
            }
            assertEquals(want.size(), next, "events the protocol has but the decoder did not emit: "
                    + want.subList(next, want.size()));
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    private static void check(Event e, Object msg, int limit) {
        switch (e.kind()) {
            case FRAME -> {
                assertTrue(msg instanceof Frame, "expected " + e + ", got " + msg);
                Frame f = (Frame) msg;
                assertEquals(e.type(), f.type().code());
                assertEquals(e.flags(), f.flags());
                assertEquals(e.streamId(), f.streamId());
                assertTrue(f.content().readableBytes() <= limit);
                assertArrayEquals(e.payload(), ByteBufUtil.getBytes(f.content()));
            }
            case OVERSIZED -> {
                assertTrue(msg instanceof OversizedFrame, "expected " + e + ", got " + msg);
                OversizedFrame o = (OversizedFrame) msg;
                assertEquals(e.length(), o.header().payloadLength());
                assertEquals(e.streamId(), o.streamId());
                assertEquals(e.type(), o.header().type().code());
                assertEquals(limit, o.maxPayloadLength());
                assertEquals(TtrpcCode.RESOURCE_EXHAUSTED.value(), o.toStatus().code());
            }
            case CORRUPT -> fail("expected a CorruptedFrameException, got " + msg);
        }
    }

    private static Method bufferedBytes() {
        try {
            Method m = ByteToMessageDecoder.class.getDeclaredMethod("actualReadableBytes");
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static java.lang.reflect.Field skippedHeader() {
        try {
            java.lang.reflect.Field f = FrameDecoder.class.getDeclaredField("skippedHeader");
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("ttrpc-frame-decoder", this::frames);
    }
}
