package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerCreateRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerGrpc;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerStartRequest;
import io.kuasar.api.containerd.types.Sandbox;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile input straight at our sandboxer socket, as a gRPC client of containerd's sandbox Controller: containerd
 * itself only sends ids it generated, but anything able to reach the socket can send anything.
 */
@ExtendWith(NodeExtension.class)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class SandboxerInputTest {
    private static final Metadata.Key<String> NAMESPACE =
            Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);

    private NodeEnv env;
    private EventLoopGroup group;
    private ManagedChannel channel;

    @BeforeEach
    void connect(NodeEnv env) {
        this.env = env;
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(env.sandboxerSock().toString()))
                .eventLoopGroup(group).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
    }

    @AfterEach
    void disconnect() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** A stub sending the namespace header like containerd does, with a deadline. */
    private ControllerGrpc.ControllerBlockingStub controller() {
        Metadata headers = new Metadata();
        headers.put(NAMESPACE, "k8s.io");
        return ControllerGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                .withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    /** A Create request shaped like containerd's: the CRI pod config as options, the sandbox record. */
    private static ControllerCreateRequest create(String id, String sandboxer) {
        return ControllerCreateRequest.newBuilder().setSandboxId(id).setSandboxer(sandboxer)
                .setOptions(Any.pack(PodSandboxConfig.getDefaultInstance()))
                .setSandbox(Sandbox.newBuilder().setSandboxId(id).setSandboxer(sandboxer)).build();
    }

    @Test
    void createWithPathLikeSandboxIdIsInvalidArgumentAndLeavesNoState() throws IOException {
        assertCreateRejected("../../etc");
    }

    @Test
    void createWithOverlongSandboxIdIsInvalidArgumentAndLeavesNoState() throws IOException {
        assertCreateRejected("k".repeat(200));
    }

    @Test
    void createForUnknownSandboxerIsNotFoundNamingIt() throws IOException {
        Set<String> before = hostFiles();
        String id = "e2e-nope-" + UUID.randomUUID().toString().substring(0, 8);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> controller().create(create(id, "nope")));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e::getMessage);
        assertTrue(e.getStatus().getDescription().contains("nope"), e::getMessage);
        assertEquals(before, hostFiles(), "files appeared under the host's state or run dir");
    }

    @Test
    void startOfUnknownSandboxIsNotFound() {
        String id = "e2e-missing-" + UUID.randomUUID().toString().substring(0, 8);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> controller().start(
                ControllerStartRequest.newBuilder().setSandboxId(id).setSandboxer(NodeEnv.KUASAR_SANDBOXER).build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e::getMessage);
        assertTrue(e.getStatus().getDescription().contains(id), e::getMessage);
    }

    private void assertCreateRejected(String id) throws IOException {
        Set<String> before = hostFiles();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> controller().create(create(id, NodeEnv.KUASAR_SANDBOXER)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e::getMessage);
        // Long ids may be shortened in the message; their first characters must be there.
        String shown = id.length() > 60 ? id.substring(0, 60) : id;
        assertTrue(e.getStatus().getDescription().contains(shown), e::getMessage);
        assertEquals(before, hostFiles(), "files appeared under the host's state or run dir");
        for (Path root : new Path[] {env.kuasarStateDir(), env.kuasarRunDir()}) {
            for (Path base : new Path[] {root, root.resolve(NodeEnv.KUASAR_SANDBOXER)}) {
                Path target = base.resolve(id).normalize();
                assertFalse(Files.exists(target), "a hostile id reached " + target);
            }
        }
    }

    /** Every path under our host's state and run roots, and the node dir's own entries (where "../.." leads). */
    private Set<String> hostFiles() throws IOException {
        Set<String> files = new TreeSet<>();
        for (Path root : new Path[] {env.kuasarStateDir(), env.kuasarRunDir(), env.nodeDir().resolve("kuasar")}) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> walk = root.equals(env.nodeDir().resolve("kuasar")) ? Files.list(root) : Files.walk(root)) {
                walk.forEach(p -> files.add(p.toString()));
            }
        }
        return files;
    }
}
