package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.kuasar.driver.vmm.agent.proto.Empty;
import io.kuasar.driver.vmm.agent.proto.OutputResponse;
import io.kuasar.driver.vmm.agent.proto.PidResponse;
import io.kuasar.driver.vmm.agent.proto.PidsResponse;
import io.kuasar.driver.vmm.agent.proto.PingResponse;
import io.kuasar.driver.vmm.agent.proto.SetupSandboxRequest;
import io.kuasar.driver.vmm.agent.proto.StatsResponse;
import io.kuasar.driver.vmm.agent.proto.StdinResponse;
import io.kuasar.driver.vmm.agent.proto.WaitResponse;
import io.kuasar.host.fuzz.FuzzInput;
import io.kuasar.host.fuzz.FuzzSeeds;
import io.kuasar.spi.SandboxException;
import io.kuasar.ttrpc.TtrpcCode;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.kuasar.ttrpc.TtrpcException;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code vmm-agent-client}: the answers of a hostile guest agent, parsed by {@link AgentClient} (the VM
 * is untrusted). A fake agent on a real Unix socket reads the call and answers what the input says: a ttrpc
 * Response with any status and any payload bytes, a frame on another stream, raw bytes (garbage, truncated or
 * oversized frames), or nothing; then it hangs up. What must hold:
 * <ul>
 *   <li>each call ends within 10 s, with its answer or, for a synchronous call, a SandboxException (a long poll:
 *       a TtrpcException); never another exception;</li>
 *   <li>an OK answer gives exactly the payload parsed as the method's response, an unparsable payload INTERNAL,
 *       an error status the SandboxException of the same code (INTERNAL for codes the SPI lacks), a hang-up
 *       before an answer UNAVAILABLE.</li>
 * </ul>
 * Input: byte 0 picks the call, byte 1 the kind of answer, then its fields and the payload (or raw bytes).
 */
class AgentClientFuzzTest {
    /** The clients' event loop, for the whole test class (the driver's own comes from its Vmm). */
    private static final EventLoopGroup LOOP = TtrpcEventLoops.newGroup(1, "test-agent-client");

    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final AtomicReference<byte[]> ANSWER = new AtomicReference<>();
    /** Quiet: the client logs each garbage answer with its stack trace, which would be most of the work here. */
    private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger("io.kuasar.ttrpc.ClientConnectionHandler");

    static {
        QUIET.setLevel(java.util.logging.Level.OFF);
    }
    private static final Path SOCKET = startAgent();

    /** The fake agent: one connection at a time; reads one request frame, writes ANSWER with its stream id, closes. */
    private static Path startAgent() {
        try {
            Path dir = Files.createTempDirectory("agent-fuzz");
            dir.toFile().deleteOnExit();
            Path socket = dir.resolve("agent.sock");
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread t = new Thread(() -> {
                while (true) {
                    try (SocketChannel c = server.accept()) {
                        serve(c);
                    } catch (IOException e) {
                        // the client went away first: next one
                    }
                }
            }, "fake-agent");
            t.setDaemon(true);
            t.start();
            socket.toFile().deleteOnExit();
            return socket;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void serve(SocketChannel c) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(10);
        while (head.hasRemaining()) {
            if (c.read(head) < 0) {
                return;
            }
        }
        int length = head.getInt(0);
        int stream = head.getInt(4);
        ByteBuffer body = ByteBuffer.allocate(Math.max(0, Math.min(length, 1 << 20)));
        while (body.hasRemaining()) {
            if (c.read(body) < 0) {
                return;
            }
        }
        byte[] answer = ANSWER.get();
        ByteBuffer out = ByteBuffer.wrap(answer);
        if (answer.length >= 8 && answer[4] == 0 && answer[5] == 0 && answer[6] == 0 && answer[7] == 0) {
            out.putInt(4, stream); // a stream id of 0 in the script means "the call's own"
        }
        while (out.hasRemaining()) {
            c.write(out);
        }
    }

    /** One call of the client; the response parser tells what an OK answer must give. */
    private record Call(String method, Parser<? extends MessageLite> parser, boolean async) {
    }

    private static final Call[] CALLS = {
        new Call("Ping", PingResponse.parser(), false), new Call("CreateContainer", PidResponse.parser(), false),
        new Call("Start", PidResponse.parser(), false), new Call("Stats", StatsResponse.parser(), false),
        new Call("Pids", PidsResponse.parser(), false), new Call("Signal", Empty.parser(), false),
        new Call("SetupSandbox", Empty.parser(), false), new Call("Wait", WaitResponse.parser(), true),
        new Call("ReadOutput", OutputResponse.parser(), true), new Call("WriteStdin", StdinResponse.parser(), false),
        new Call("ResizePty", Empty.parser(), false),
    };

    @FuzzTest(maxDuration = "10s")
    void answers(byte[] data) throws Exception {
        FuzzInput in = new FuzzInput(data);
        Call call = CALLS[in.u8() % CALLS.length];
        int kind = in.u8() % 4;
        Integer status = null; // the status the agent answers the call's stream with, if it does
        byte[] payload = null;
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        switch (kind) {
            case 0, 1 -> { // a Response: on the call's stream (0), or on another one (1)
                status = in.u8() % 20;
                payload = in.bytes(in.u16());
                io.kuasar.ttrpc.proto.Response.Builder r = io.kuasar.ttrpc.proto.Response.newBuilder()
                        .setPayload(ByteString.copyFrom(payload));
                if (status != 0 || in.bool()) {
                    r.setStatus(io.kuasar.ttrpc.proto.Status.newBuilder().setCode(status).setMessage("agent says " + status));
                }
                byte[] body = r.build().toByteArray();
                ByteBuffer h = ByteBuffer.allocate(10).putInt(body.length).putInt(kind == 0 ? 0 : 2 + in.u8()).put((byte) 2).put((byte) 0);
                answer.writeBytes(h.array());
                answer.writeBytes(body);
                if (kind == 1) {
                    status = null;
                }
            }
            case 2 -> answer.writeBytes(in.rest()); // raw bytes, a stream id of 0 becomes the call's
            default -> { } // hang up without a word
        }
        ANSWER.set(answer.toByteArray());

        long start = System.nanoTime();
        Object result = null;
        Throwable failure = null;
        try (AgentClient client = AgentClient.connect(SOCKET, LOOP)) {
            try {
                result = invoke(client, call);
            } catch (SandboxException e) {
                assertTrue(!call.async(), "a long poll failed synchronously: " + e);
                failure = e;
            } catch (ExecutionException e) {
                assertTrue(call.async());
                assertTrue(e.getCause() instanceof TtrpcException, "a long poll failed with " + e.getCause());
                failure = e.getCause();
            }
        }
        assertTrue(System.nanoTime() - start < BOUND.toNanos(), call.method() + " took over " + BOUND);
        if (status == null) {
            if (failure == null && kind == 2) {
                return; // raw bytes may hold a valid answer: checked no further
            }
            assertTrue(failure != null, call.method() + " answered without an answer: " + result);
            return;
        }
        if (status == 0) {
            Object expected;
            try {
                expected = call.parser().parseFrom(payload);
            } catch (InvalidProtocolBufferException e) {
                assertEquals(TtrpcCode.INTERNAL.value(), code(failure), "a malformed answer: " + failure);
                return;
            }
            if (failure != null) {
                fail(call.method() + " failed on a valid answer: " + failure);
            }
            if (result instanceof Long n && expected instanceof StdinResponse r) { // WriteStdin gives the count
                assertEquals(r.getWritten(), n.longValue());
            } else if (result instanceof Long pid) { // create and start give the pid alone
                assertEquals(((PidResponse) expected).getPid(), pid.longValue());
            } else if (result != null) { // Signal and SetupSandbox answer Empty, and give nothing
                assertEquals(expected, result);
            }
            return;
        }
        assertTrue(failure != null, "an error status " + status + " gave " + result);
        int want = SandboxException.Code.INTERNAL.value;
        for (SandboxException.Code c : SandboxException.Code.values()) {
            if (c.value == status) {
                want = status;
            }
        }
        assertEquals(call.async() ? status : want, code(failure), "status " + status + " became " + failure);
    }

    private static Object invoke(AgentClient a, Call call) throws Exception {
        return switch (call.method()) {
            case "Ping" -> a.ping();
            case "CreateContainer" -> a.create("c1", "/run/kuasar/c1", new GuestStdio(true, false, true, true));
            case "WriteStdin" -> a.writeStdin("c1", "", ByteString.copyFromUtf8("ls\n"));
            case "ResizePty" -> {
                a.resizePty("c1", "", 80, 24);
                yield null;
            }
            case "Start" -> a.start("c1", "");
            case "Stats" -> a.stats("c1");
            case "Pids" -> a.pids("c1");
            case "Signal" -> {
                a.signal("c1", "", 15, false);
                yield null;
            }
            case "SetupSandbox" -> {
                a.setupSandbox(SetupSandboxRequest.getDefaultInstance(), BOUND.dividedBy(2));
                yield null;
            }
            case "Wait" -> bounded(a.waitFor("c1", ""));
            default -> bounded(a.readOutput("c1", "", 1, 0));
        };
    }

    private static <T> T bounded(CompletableFuture<T> f) throws ExecutionException, InterruptedException {
        try {
            return f.get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("a long poll did not end after the agent hung up", e);
        }
    }

    private static int code(Throwable t) {
        if (t instanceof SandboxException s) {
            return s.code().value;
        }
        if (t instanceof TtrpcException x) {
            return x.status().code();
        }
        throw new AssertionError("unexpected failure " + t, t);
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("vmm-agent-client", this::answers);
    }
}
