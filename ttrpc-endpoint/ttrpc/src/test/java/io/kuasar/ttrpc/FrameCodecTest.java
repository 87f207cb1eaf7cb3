package io.kuasar.ttrpc;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.TooLongFrameException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FrameCodecTest {
    private static final int SMALL_LIMIT = 16;

    /** Frames as the decoder is expected to report them, rendered comparably. */
    private static final List<String> EXPECTED = List.of(
            "frame REQUEST stream=1 flags=0 payload=hello",
            "frame RESPONSE stream=2 flags=0 payload=",
            "oversized DATA stream=5 length=17",
            "frame DATA stream=4294967295 flags=5 payload=0123456789abcdef",
            "frame REQUEST stream=7 flags=2 payload=x");

    private static byte[] stream() {
        ByteBuf buf = Unpooled.buffer();
        writeFrame(buf, 1, 1, 0, "hello".getBytes(StandardCharsets.US_ASCII));
        writeFrame(buf, 2, 2, 0, new byte[0]);
        writeFrame(buf, 5, 3, 0, new byte[SMALL_LIMIT + 1]); // one byte over: skipped, reported
        writeFrame(buf, 0xFFFF_FFFF, 3, FrameFlags.REMOTE_CLOSED | FrameFlags.NO_DATA,
                "0123456789abcdef".getBytes(StandardCharsets.US_ASCII)); // exactly the limit
        writeFrame(buf, 7, 1, FrameFlags.REMOTE_OPEN, "x".getBytes(StandardCharsets.US_ASCII));
        return ByteBufUtil.getBytes(buf);
    }

    private static void writeFrame(ByteBuf buf, int streamId, int type, int flags, byte[] payload) {
        buf.writeInt(payload.length).writeInt(streamId).writeByte(type).writeByte(flags).writeBytes(payload);
    }

    private static List<String> drain(EmbeddedChannel channel) {
        List<String> seen = new ArrayList<>();
        Object msg;
        while ((msg = channel.readInbound()) != null) {
            if (msg instanceof Frame) {
                Frame f = (Frame) msg;
                seen.add("frame " + f.type() + " stream=" + Integer.toUnsignedString(f.streamId()) + " flags="
                        + f.flags() + " payload=" + f.content().toString(StandardCharsets.US_ASCII));
                f.release();
            } else {
                OversizedFrame o = (OversizedFrame) msg;
                seen.add("oversized " + o.header().type() + " stream=" + o.streamId() + " length="
                        + o.header().payloadLength());
            }
        }
        return seen;
    }

    @Test
    void decodesTheSameFramesAtEverySplitPoint() {
        byte[] bytes = stream();
        for (int split = 0; split <= bytes.length; split++) {
            EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(SMALL_LIMIT));
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, 0, split));
            channel.writeInbound(Unpooled.wrappedBuffer(bytes, split, bytes.length - split));
            assertEquals(EXPECTED, drain(channel), "split at byte " + split);
            assertFalse(channel.finish(), "nothing left over at split " + split);
        }
    }

    @Test
    void decodesTheSameFramesAtEveryPairOfSplitPoints() {
        byte[] bytes = stream();
        for (int a = 0; a <= bytes.length; a++) {
            for (int b = a; b <= bytes.length; b++) {
                EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(SMALL_LIMIT));
                channel.writeInbound(Unpooled.wrappedBuffer(bytes, 0, a));
                channel.writeInbound(Unpooled.wrappedBuffer(bytes, a, b - a));
                channel.writeInbound(Unpooled.wrappedBuffer(bytes, b, bytes.length - b));
                assertEquals(EXPECTED, drain(channel), "splits at " + a + " and " + b);
            }
        }
    }

    @Test
    void decodesOneByteAtATime() {
        byte[] bytes = stream();
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(SMALL_LIMIT));
        for (byte b : bytes) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertEquals(EXPECTED, drain(channel));
    }

    @Test
    void defaultLimitIsFourMebibytes() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder());
        ByteBuf header = Unpooled.buffer().writeInt((4 << 20) + 1).writeInt(3).writeByte(1).writeByte(0);
        channel.writeInbound(header);
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[(4 << 20) + 1]));
        OversizedFrame oversized = channel.readInbound();
        assertEquals(3, oversized.streamId());
        assertEquals(TtrpcCode.RESOURCE_EXHAUSTED, oversized.toStatus().grpcCode());
        assertEquals("message length 4194305 exceeds maximum message size of 4194304", oversized.toStatus().message());
        assertNull(channel.readInbound());
    }

    @Test
    void unknownFrameTypeFailsOnceThenIgnoresTheRest() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder());
        ByteBuf garbage = Unpooled.buffer().writeInt(0).writeInt(1).writeByte(9).writeByte(0);
        CorruptedFrameException error = assertThrows(CorruptedFrameException.class, () -> channel.writeInbound(garbage));
        assertTrue(error.getMessage().contains("unknown ttrpc frame type 9"), error.getMessage());
        // A well-formed frame afterwards is not decoded: the stream is out of sync for good.
        ByteBuf valid = Unpooled.buffer();
        writeFrame(valid, 3, 1, 0, new byte[] {1});
        channel.writeInbound(valid);
        assertNull(channel.readInbound());
    }

    @Test
    void encoderWritesHeaderThenPayload() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());
        channel.writeOutbound(new Frame(FrameType.RESPONSE, FrameFlags.REMOTE_CLOSED, 0x8000_0001,
                Unpooled.wrappedBuffer(new byte[] {7, 8, 9})));
        ByteBuf header = channel.readOutbound();
        ByteBuf payload = channel.readOutbound();
        assertArrayEquals(new byte[] {0, 0, 0, 3, (byte) 0x80, 0, 0, 1, 2, 1}, ByteBufUtil.getBytes(header));
        assertArrayEquals(new byte[] {7, 8, 9}, ByteBufUtil.getBytes(payload));
        header.release();
        payload.release();
    }

    @Test
    void encoderWritesOnlyTheHeaderForAnEmptyPayload() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());
        channel.writeOutbound(new Frame(FrameType.REQUEST, 0, 1, Unpooled.EMPTY_BUFFER));
        ByteBuf header = channel.readOutbound();
        assertArrayEquals(new byte[] {0, 0, 0, 0, 0, 0, 0, 1, 1, 0}, ByteBufUtil.getBytes(header));
        assertNull(channel.readOutbound());
        header.release();
    }

    @Test
    void encoderRefusesOversizedPayload() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameEncoder());
        ByteBuf payload = Unpooled.wrappedBuffer(new byte[(4 << 20) + 1]);
        EncoderException error = assertThrows(EncoderException.class,
                () -> channel.writeOutbound(new Frame(FrameType.REQUEST, 0, 9, payload)));
        assertInstanceOf(TooLongFrameException.class, error.getCause());
        assertEquals("ttrpc REQUEST payload of 4194305 bytes exceeds the maximum of 4194304 (stream 9)",
                error.getCause().getMessage());
        assertNull(channel.readOutbound(), "nothing may reach the wire");
        assertEquals(0, payload.refCnt(), "the refused payload is released");
    }

    @Test
    void encodedFramesDecodeBackToTheSameFrames() {
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder());
        EmbeddedChannel in = new EmbeddedChannel(new FrameDecoder());
        out.writeOutbound(new Frame(FrameType.REQUEST, 0, 11, Unpooled.copiedBuffer("ping", StandardCharsets.UTF_8)));
        ByteBuf b;
        while ((b = out.readOutbound()) != null) {
            in.writeInbound(b);
        }
        Frame frame = in.readInbound();
        assertEquals(FrameType.REQUEST, frame.type());
        assertEquals(11, frame.streamId());
        assertEquals("ping", frame.content().toString(StandardCharsets.UTF_8));
        frame.release();
    }
}
