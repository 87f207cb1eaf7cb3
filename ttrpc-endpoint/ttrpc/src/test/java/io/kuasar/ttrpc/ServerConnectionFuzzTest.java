package io.kuasar.ttrpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.kuasar.host.fuzz.FuzzInput;
import io.kuasar.host.fuzz.FuzzSeeds;
import io.kuasar.ttrpc.fuzz.ReferenceFrames.Event;
import io.kuasar.ttrpc.fuzz.ReferenceFrames.Kind;
import io.kuasar.ttrpc.fuzz.ReferenceFrames;
import io.kuasar.ttrpc.proto.KeyValue;
import io.kuasar.ttrpc.proto.Request;
import io.kuasar.ttrpc.proto.Response;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code ttrpc-server-connection}: a hostile client's bytes through {@link FrameDecoder},
 * {@link FrameEncoder} and {@link ServerConnectionHandler} (an EmbeddedChannel with a frozen clock, handlers run
 * inline). The answers must be exactly those of a model of the protocol the handler documents: stream ids odd and
 * increasing, each accepted call answered once (by its handler or a data frame on its stream), at most
 * {@link ServerConnectionHandler#MAX_IN_FLIGHT} calls open (RESOURCE_EXHAUSTED beyond), oversized frames answered
 * RESOURCE_EXHAUSTED, the connection closed on an unknown frame type, a response frame from the client or a request
 * that is not a ttrpc Request, and nothing written after that. Every answer is a well-formed Response frame; no
 * exception reaches the channel. (Deadlines are left to TtrpcServerTest: timers need a clock, see below.)
 *
 * <p>Input: byte 0 picks the frame limit (even: 16 + that value; odd: 4 MiB), byte 1 seeds the cuts of the stream
 * into reads; then ops, each an op byte and its operands, that append to the stream: raw bytes, a request built from
 * choices (stream id, flags, service and method, timeout, payload), a request with raw bytes as its Request, a data
 * frame, a response frame, an oversized frame.
 */
class ServerConnectionFuzzTest {
    private static final String SERVICE = "fuzz.v1.Test";
    private static final String[] SERVICES = {SERVICE, "other.v1.Service", "", "fuzz.v1.Test\0"};
    private static final String[] METHODS = {"Echo", "Fail", "Bad", "Throw", "Typed", "Never", "Missing", ""};
    private static final long HOUR = TimeUnit.HOURS.toNanos(1);
    private static final MethodRegistry REGISTRY = registry();
    /** Quiet: the handler logs each protocol error with its stack trace, which would be most of the work here. */
    private static final java.util.logging.Logger QUIET = quiet();

    private static java.util.logging.Logger quiet() {
        java.util.logging.Logger l = java.util.logging.Logger.getLogger(ServerConnectionHandler.class.getName());
        l.setLevel(java.util.logging.Level.OFF);
        return l;
    }

    private static MethodRegistry registry() {
        MethodRegistry r = new MethodRegistry();
        r.register(SERVICE, "Echo", (ctx, payload) -> CompletableFuture.completedFuture(payload));
        r.register(SERVICE, "Fail", (ctx, payload) -> CompletableFuture.failedFuture(
                new TtrpcException(TtrpcCode.NOT_FOUND, "no such thing")));
        r.register(SERVICE, "Bad", (ctx, payload) -> CompletableFuture.completedFuture(42));
        r.register(SERVICE, "Throw", (ctx, payload) -> {
            throw new IllegalStateException("handler bug");
        });
        r.register(SERVICE, "Typed", MethodHandler.of(KeyValue.parser(),
                (ctx, kv) -> CompletableFuture.completedFuture(kv)));
        r.register(SERVICE, "Never", (ctx, payload) -> new CompletableFuture<>());
        return r;
    }

    private record Answer(int stream, int code, ByteString payload) {
        @Override
        public String toString() {
            return Integer.toUnsignedString(stream) + ":" + TtrpcCode.forValue(code);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void connection(byte[] data) {
        FuzzInput in = new FuzzInput(data);
        int pick = in.u8();
        int limit = (pick & 1) == 0 ? 16 + pick : FrameHeader.MAX_PAYLOAD_LENGTH;
        long cuts = in.u8() * 2654435761L + 1;
        byte[] stream = build(in, limit);
        List<Event> events = ReferenceFrames.split(stream, limit);

        // Real time (frozen time makes Netty's EmbeddedChannel interleave the frames of answers written by timers
        // that fire together): timeouts here are 0, negative or over an hour, so no timer fires during a run.
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.pipeline().addLast(new FrameDecoder(limit), new FrameEncoder(),
                new ServerConnectionHandler(new ConnectionInfo(1, Path.of("/fuzz.sock"), -1, -1), REGISTRY,
                        Runnable::run, ConnectionListener.NONE));
        Model model = new Model();
        int next = 0;
        int pos = 0;
        try {
            while (pos < stream.length && ch.isOpen()) {
                cuts = cuts * 6364136223846793005L + 1442695040888963407L;
                int n = (int) Math.min(stream.length - pos, 1 + ((cuts >>> 33) % 64));
                if (((cuts >>> 20) & 3) == 0) {
                    n = stream.length - pos;
                }
                ch.writeInbound(Unpooled.wrappedBuffer(stream, pos, n)); // throws what reached the channel's end
                pos += n;
                while (next < events.size() && events.get(next).end() <= pos) {
                    model.on(events.get(next++));
                }
                model.endOfRead();
                assertEquals(!model.closed, ch.isOpen(), "connection open/closed unlike the protocol says");
            }
            if (ch.isOpen()) {
                ch.runPendingTasks();
                model.stillOpen();
            }
            List<Answer> got = answers(ch);
            assertEquals(model.answers.toString(), got.toString(), "answers differ from the protocol's");
            for (int i = 0; i < got.size(); i++) {
                ByteString want = model.answers.get(i).payload();
                if (want != null) {
                    assertEquals(want, got.get(i).payload(), "payload of the answer on " + got.get(i));
                }
            }
            ch.checkException();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    /** What the client wrote, decoded: every frame must be a RESPONSE holding a valid Response. */
    private static List<Answer> answers(EmbeddedChannel ch) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Object msg;
        while ((msg = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) msg;
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            out.writeBytes(bytes);
        }
        byte[] all = out.toByteArray();
        List<Event> frames = ReferenceFrames.split(all, FrameHeader.MAX_PAYLOAD_LENGTH);
        List<Answer> answers = new ArrayList<>();
        int end = 0;
        for (Event e : frames) {
            assertTrue(e.kind() == Kind.FRAME && e.type() == FrameType.RESPONSE.code() && e.flags() == 0,
                    "the server wrote " + e);
            try {
                Response r = Response.parseFrom(e.payload());
                answers.add(new Answer(e.streamId(), r.getStatus().getCode(), r.getPayload()));
            } catch (InvalidProtocolBufferException x) {
                fail("the server wrote a response that is no Response: " + x + "; frame " + e + " payload "
                        + java.util.HexFormat.of().formatHex(e.payload(), 0, Math.min(64, e.payload().length)));
            }
            end = e.end();
        }
        assertEquals(all.length, end, "the server wrote a partial frame");
        return answers;
    }

    /** The server as its documentation describes it. */
    private static final class Model {
        final List<Answer> answers = new ArrayList<>();
        final Map<Integer, long[]> inFlight = new LinkedHashMap<>(); // stream -> {timeout, order}
        final List<Answer> completedThisRead = new ArrayList<>();
        long lastId;
        long order;
        boolean closed;

        void on(Event e) {
            if (closed) {
                return;
            }
            switch (e.kind()) {
                case CORRUPT -> closed = true;
                case OVERSIZED -> answers.add(new Answer(e.streamId(), TtrpcCode.RESOURCE_EXHAUSTED.value(), null));
                case FRAME -> {
                    if (e.type() == FrameType.REQUEST.code()) {
                        request(e);
                    } else if (e.type() == FrameType.DATA.code()) {
                        boolean active = inFlight.remove(e.streamId()) != null;
                        answers.add(new Answer(e.streamId(), active ? TtrpcCode.UNIMPLEMENTED.value()
                                : TtrpcCode.INVALID_ARGUMENT.value(), null));
                    } else {
                        closed = true; // a client sending responses is closed (it could fill the log otherwise)
                    }
                }
            }
        }

        private void request(Event e) {
            int s = e.streamId();
            long id = Integer.toUnsignedLong(s);
            if ((id & 1) == 0 || id <= lastId) {
                answers.add(new Answer(s, TtrpcCode.INVALID_ARGUMENT.value(), null));
                return;
            }
            lastId = id;
            Request r;
            try {
                r = Request.parseFrom(e.payload());
            } catch (InvalidProtocolBufferException x) {
                closed = true;
                return;
            }
            if ((e.flags() & FrameFlags.REMOTE_OPEN) != 0) {
                answers.add(new Answer(s, TtrpcCode.UNIMPLEMENTED.value(), null));
                return;
            }
            String m = r.getMethod();
            boolean known = r.getService().equals(SERVICE) && Arrays.asList(METHODS).subList(0, 6).contains(m);
            if (!known) {
                answers.add(new Answer(s, TtrpcCode.UNIMPLEMENTED.value(), null));
                return;
            }
            if (r.getTimeoutNano() < 0) {
                answers.add(new Answer(s, TtrpcCode.DEADLINE_EXCEEDED.value(), null));
                return;
            }
            if (inFlight.size() >= ServerConnectionHandler.MAX_IN_FLIGHT) {
                answers.add(new Answer(s, TtrpcCode.RESOURCE_EXHAUSTED.value(), null));
                return;
            }
            inFlight.put(s, new long[] {r.getTimeoutNano(), order++});
            switch (m) {
                case "Echo" -> completedThisRead.add(new Answer(s, 0, r.getPayload()));
                case "Fail" -> completedThisRead.add(new Answer(s, TtrpcCode.NOT_FOUND.value(), ByteString.EMPTY));
                case "Bad", "Throw" -> completedThisRead.add(new Answer(s, TtrpcCode.INTERNAL.value(), ByteString.EMPTY));
                case "Typed" -> {
                    try {
                        completedThisRead.add(new Answer(s, 0, KeyValue.parseFrom(r.getPayload()).toByteString()));
                    } catch (InvalidProtocolBufferException x) {
                        completedThisRead.add(new Answer(s, TtrpcCode.INVALID_ARGUMENT.value(), ByteString.EMPTY));
                    }
                }
                default -> { } // Never
            }
        }

        /** The loop's queued tasks run after each read: handler answers for calls still in flight. */
        void endOfRead() {
            if (closed) {
                inFlight.clear();
            } else {
                for (Answer a : completedThisRead) {
                    if (inFlight.remove(a.stream()) != null) {
                        answers.add(a);
                    }
                }
            }
            completedThisRead.clear();
        }

        /** Calls still open at the end: only those to the handler that never completes, waiting for a deadline. */
        void stillOpen() {
            assertTrue(inFlight.size() <= ServerConnectionHandler.MAX_IN_FLIGHT);
        }
    }

    /** The client's byte stream, from ops. */
    private static byte[] build(FuzzInput in, int limit) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long lastId = 1;
        while (in.remaining() > 0 && out.size() < 1 << 16) {
            int op = in.u8();
            switch (op % 6) {
                case 0 -> out.writeBytes(in.bytes(in.u8()));
                case 1, 2 -> {
                    int choice = in.u8();
                    long id = (choice & 3) == 0 ? in.u32() : lastId + 2 * ((choice >> 2) & 3);
                    lastId = Math.max(lastId, id & 0xFFFF_FFFFL);
                    int flags = (choice & 0x30) == 0x30 ? in.u8() : 0;
                    byte[] body;
                    if (op % 6 == 2) {
                        body = in.bytes(in.u8());
                    } else {
                        int sm = in.u8();
                        long timeout = switch (in.u8() % 6) {
                            case 0, 1 -> 0;
                            case 2 -> -1 - in.u8();
                            case 3 -> HOUR + in.u16() * 1000L;
                            case 4 -> HOUR + in.u8();
                            default -> HOUR + (in.u32() << 20);
                        };
                        Request.Builder r = Request.newBuilder().setService(SERVICES[sm % SERVICES.length])
                                .setMethod(METHODS[(sm >> 2) % METHODS.length]).setTimeoutNano(timeout)
                                .setPayload(ByteString.copyFrom(in.bytes(in.u8())));
                        if ((sm & 0x80) != 0) {
                            r.addMetadata(KeyValue.newBuilder().setKey("containerd-namespace-ttrpc").setValue("k8s.io"));
                        }
                        body = r.build().toByteArray();
                    }
                    out.writeBytes(ReferenceFrames.frame(1, flags, (int) id, body));
                }
                case 3, 4 -> out.writeBytes(ReferenceFrames.frame(op % 6 == 3 ? 3 : 2, in.u8() & 7,
                        (int) (lastId - 2 * (in.u8() & 3)), in.bytes(in.u8())));
                default -> {
                    int extra = in.u8();
                    byte[] f = ReferenceFrames.frame(1 + in.u8() % 3, 0, (int) in.u32(), new byte[0]);
                    long len = (long) limit + 1 + extra;
                    if (len > 1 << 16) {
                        len = 0xFFFF_FFFFL; // the real limit: a header that announces more than will ever come
                    }
                    f[0] = (byte) (len >>> 24);
                    f[1] = (byte) (len >>> 16);
                    f[2] = (byte) (len >>> 8);
                    f[3] = (byte) len;
                    out.writeBytes(f);
                    if (len <= 1 << 16) {
                        out.writeBytes(new byte[(int) len]);
                    }
                }
            }
        }
        return out.toByteArray();
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("ttrpc-server-connection", this::connection);
    }
}
