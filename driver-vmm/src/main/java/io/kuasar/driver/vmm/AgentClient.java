package io.kuasar.driver.vmm;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.kuasar.driver.vmm.agent.proto.CreateContainerRequest;
import io.kuasar.driver.vmm.agent.proto.Empty;
import io.kuasar.driver.vmm.agent.proto.ExecRequest;
import io.kuasar.driver.vmm.agent.proto.OutputRequest;
import io.kuasar.driver.vmm.agent.proto.OutputResponse;
import io.kuasar.driver.vmm.agent.proto.PidResponse;
import io.kuasar.driver.vmm.agent.proto.PidsResponse;
import io.kuasar.driver.vmm.agent.proto.PingRequest;
import io.kuasar.driver.vmm.agent.proto.PingResponse;
import io.kuasar.driver.vmm.agent.proto.PortsRequest;
import io.kuasar.driver.vmm.agent.proto.PortsResponse;
import io.kuasar.driver.vmm.agent.proto.ProcessRef;
import io.kuasar.driver.vmm.agent.proto.ResizeRequest;
import io.kuasar.driver.vmm.agent.proto.SetupSandboxRequest;
import io.kuasar.driver.vmm.agent.proto.SignalRequest;
import io.kuasar.driver.vmm.agent.proto.StatsResponse;
import io.kuasar.driver.vmm.agent.proto.StdinRequest;
import io.kuasar.driver.vmm.agent.proto.StdinResponse;
import io.kuasar.driver.vmm.agent.proto.UpdateRequest;
import io.kuasar.driver.vmm.agent.proto.WaitResponse;
import io.kuasar.spi.SandboxException;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcCode;
import io.kuasar.ttrpc.TtrpcException;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The guest agent's service (agent.proto) over ttrpc on the VM's virtio-serial socket. Synchronous calls map the
 * agent's status to a {@link SandboxException} with the same code; Wait and ReadOutput are long polls and stay
 * asynchronous. A closed connection (VM gone, or host restarting) fails calls with UNAVAILABLE.
 */
final class AgentClient implements AutoCloseable {
    static final String SERVICE = "kuasar.agent.v1.Agent";
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(60);
    /** How long {@link #awaitReady} waits for an answer before it pings again, and how many pings it sends. */
    private static final Duration REPING = Duration.ofMillis(200);
    private static final int PINGS = 6;

    private final TtrpcClient ttrpc;

    private AgentClient(TtrpcClient ttrpc) {
        this.ttrpc = ttrpc;
    }

    static AgentClient connect(Path socket, EventLoopGroup loop) throws IOException {
        return new AgentClient(TtrpcClient.connect(socket, loop));
    }

    /** Connects to a VM's agent socket, retrying while QEMU has not created it yet. */
    static AgentClient connect(Vmm.VmInstance vm, Duration timeout, EventLoopGroup loop) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                return connect(vm.agentSocket(), loop);
            } catch (IOException e) {
                if (System.nanoTime() > deadline || ProcessHandle.of(vm.pid()).isEmpty()) {
                    throw e;
                }
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
    }

    /**
     * Connects and pings until the agent answers, reconnecting after each unanswered or refused ping: QEMU serves
     * one connection per socket (a predecessor may still hold it at an upgrade), and a guest restored from a
     * template may take the host's connection events in an order that leaves its side of the port closed, which a
     * new connection's "host connected" mends.
     */
    static AgentClient connectReady(Vmm.VmInstance vm, Duration timeout, Duration perTry, EventLoopGroup loop)
            throws IOException, SandboxException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            AgentClient a = connect(vm, timeout, loop);
            try {
                a.awaitReady(perTry);
                return a;
            } catch (SandboxException e) {
                a.close();
                boolean retry = e.code() == SandboxException.Code.DEADLINE_EXCEEDED
                        || e.code() == SandboxException.Code.UNAVAILABLE;
                if (System.nanoTime() > deadline || !retry || ProcessHandle.of(vm.pid()).isEmpty()) {
                    throw e;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
    }

    boolean isOpen() {
        return ttrpc.isOpen();
    }

    /**
     * Pings until the agent answers or {@code timeout} passes (the first answer comes once the guest has booted). While
     * none is answered a ping is sent again every {@link #REPING}, a few at most: a guest that had not yet seen the
     * previous host hang up when this connection's first ping came drops that ping with the old host's leftovers (a
     * handover reconnects within milliseconds), and without a second one the caller would wait out its timeout.
     */
    PingResponse awaitReady(Duration timeout) throws SandboxException {
        long deadline = System.nanoTime() + timeout.toNanos();
        CompletableFuture<PingResponse> answer = new CompletableFuture<>();
        for (int sent = 0; sent < PINGS && !answer.isDone(); sent++) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            call("Ping", PingRequest.getDefaultInstance(), PingResponse.parser(), Duration.ofNanos(left))
                    .whenComplete((r, t) -> {
                        if (t == null) {
                            answer.complete(r);
                        } else {
                            answer.completeExceptionally(t);
                        }
                    });
            try {
                answer.get(Math.min(left, REPING.toNanos()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException notYet) {
                // ping again
            } catch (ExecutionException failed) {
                break; // thrown below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // answered below as CANCELLED
                break;
            }
        }
        return get("Ping", answer, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }

    PingResponse ping() throws SandboxException {
        return sync("Ping", PingRequest.getDefaultInstance(), PingResponse.parser());
    }

    void setupSandbox(SetupSandboxRequest req, Duration timeout) throws SandboxException {
        get("SetupSandbox", call("SetupSandbox", req, Empty.parser(), timeout), timeout);
    }

    long create(String id, String guestBundle, GuestStdio stdio) throws SandboxException {
        return sync("CreateContainer", CreateContainerRequest.newBuilder().setId(id).setBundle(guestBundle)
                .setStdout(stdio.stdout()).setStderr(stdio.stderr()).setTerminal(stdio.terminal())
                .setStdin(stdio.stdin()).build(), PidResponse.parser()).getPid();
    }

    long start(String id, String execId) throws SandboxException {
        return sync("Start", ref(id, execId), PidResponse.parser()).getPid();
    }

    void exec(String id, String execId, byte[] processJson, GuestStdio stdio) throws SandboxException {
        sync("Exec", ExecRequest.newBuilder().setId(id).setExecId(execId).setProcess(ByteString.copyFrom(processJson))
                .setStdout(stdio.stdout()).setStderr(stdio.stderr()).setTerminal(stdio.terminal())
                .setStdin(stdio.stdin()).build(), Empty.parser());
    }

    /** Input for a process: how many bytes of {@code data} its pipe or terminal took (0 while it is full). */
    long writeStdin(String id, String execId, ByteString data) throws SandboxException {
        return sync("WriteStdin", StdinRequest.newBuilder().setId(id).setExecId(execId).setData(data).build(),
                StdinResponse.parser()).getWritten();
    }

    /** The window size of a process's terminal (TIOCSWINSZ in the guest). */
    void resizePty(String id, String execId, int width, int height) throws SandboxException {
        sync("ResizePty", ResizeRequest.newBuilder().setId(id).setExecId(execId).setWidth(width).setHeight(height)
                .build(), Empty.parser());
    }

    void signal(String id, String execId, int signal, boolean all) throws SandboxException {
        sync("Signal", SignalRequest.newBuilder().setId(id).setExecId(execId).setSignal(signal).setAll(all).build(),
                Empty.parser());
    }

    void closeStdin(String id, String execId) throws SandboxException {
        sync("CloseStdin", ref(id, execId), Empty.parser());
    }

    /** New cgroup limits of a container in the guest: {@code resources} is OCI LinuxResources JSON. */
    void update(String id, byte[] resources) throws SandboxException {
        sync("Update", UpdateRequest.newBuilder().setId(id).setResources(ByteString.copyFrom(resources)).build(),
                Empty.parser());
    }

    /** Freezes ({@code paused}) or thaws a container's processes in the guest (runc pause/resume there). */
    void pause(String id, boolean paused) throws SandboxException {
        sync(paused ? "Pause" : "Resume", ref(id, ""), Empty.parser());
    }

    void delete(String id, String execId) throws SandboxException {
        sync("Delete", ref(id, execId), Empty.parser());
    }

    StatsResponse stats(String id) throws SandboxException {
        return sync("Stats", ref(id, ""), StatsResponse.parser());
    }

    PidsResponse pids(String id) throws SandboxException {
        return sync("Pids", ref(id, ""), PidsResponse.parser());
    }

    /** Completes with the exit status once the process has exited (no deadline). */
    CompletableFuture<WaitResponse> waitFor(String id, String execId) {
        return call("Wait", ref(id, execId), WaitResponse.parser(), null);
    }

    /**
     * The output of one stream (1 stdout, 2 stderr) from {@code offset} on, which also tells the agent it may drop
     * what comes before; waits until there is some or EOF.
     */
    CompletableFuture<OutputResponse> readOutput(String id, String execId, int stream, long offset) {
        return call("ReadOutput", OutputRequest.newBuilder().setId(id).setExecId(execId).setStream(stream)
                .setOffset(offset).build(), OutputResponse.parser(), null);
    }

    /**
     * The pod's listening ports once their set's version differs from {@code knownVersion} (0: at once); a long
     * poll, no deadline.
     */
    CompletableFuture<PortsResponse> watchPorts(long knownVersion) {
        return call("WatchPorts", PortsRequest.newBuilder().setKnownVersion(knownVersion).build(),
                PortsResponse.parser(), null);
    }

    private static ProcessRef ref(String id, String execId) {
        return ProcessRef.newBuilder().setId(id).setExecId(execId == null ? "" : execId).build();
    }

    private <T> CompletableFuture<T> call(String method, MessageLite req, Parser<T> parser, Duration timeout) {
        return ttrpc.call(SERVICE, method, req, Map.of(), timeout).thenApply(bytes -> {
            try {
                return parser.parseFrom(bytes);
            } catch (InvalidProtocolBufferException e) {
                throw new TtrpcException(TtrpcCode.INTERNAL, "agent sent a malformed " + method + " answer", e);
            }
        });
    }

    private <T> T sync(String method, MessageLite req, Parser<T> parser) throws SandboxException {
        return get(method, call(method, req, parser, CALL_TIMEOUT), CALL_TIMEOUT.plusSeconds(1));
    }

    private static <T> T get(String method, CompletableFuture<T> f, Duration timeout) throws SandboxException {
        try {
            return f.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException | CompletionException e) {
            throw toSandbox(method, e.getCause());
        } catch (TimeoutException e) {
            throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED, "agent " + method + " timed out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted during agent " + method);
        }
    }

    /** The agent's status as the SPI's code; the message names the call and carries the agent's words. */
    static SandboxException toSandbox(String method, Throwable t) {
        int code = TtrpcException.statusOf(t).code();
        SandboxException.Code mapped = SandboxException.Code.INTERNAL;
        for (SandboxException.Code c : SandboxException.Code.values()) {
            if (c.value == code) {
                mapped = c;
            }
        }
        return new SandboxException(mapped, "guest agent " + method + ": " + TtrpcException.statusOf(t).message(), t);
    }

    @Override
    public void close() {
        ttrpc.close();
    }

    /** Closes and waits (briefly) until the connection is really closed. */
    void closeAndWait() {
        ttrpc.close();
        try {
            ttrpc.closeFuture().toCompletableFuture().get(2, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // closed as far as this side can tell
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
