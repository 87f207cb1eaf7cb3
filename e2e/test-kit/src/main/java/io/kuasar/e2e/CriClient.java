package io.kuasar.e2e;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerMetadata;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ContainerStatusRequest;
import io.kuasar.api.cri.v1.CreateContainerRequest;
import io.kuasar.api.cri.v1.ImageServiceGrpc;
import io.kuasar.api.cri.v1.ImageSpec;
import io.kuasar.api.cri.v1.LinuxContainerConfig;
import io.kuasar.api.cri.v1.LinuxContainerSecurityContext;
import io.kuasar.api.cri.v1.LinuxPodSandboxConfig;
import io.kuasar.api.cri.v1.LinuxSandboxSecurityContext;
import io.kuasar.api.cri.v1.ListPodSandboxRequest;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandbox;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.api.cri.v1.PodSandboxFilter;
import io.kuasar.api.cri.v1.PodSandboxMetadata;
import io.kuasar.api.cri.v1.RemovePodSandboxRequest;
import io.kuasar.api.cri.v1.RunPodSandboxRequest;
import io.kuasar.api.cri.v1.RuntimeServiceGrpc;
import io.kuasar.api.cri.v1.StartContainerRequest;
import io.kuasar.api.cri.v1.StopPodSandboxRequest;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A blocking client of containerd's CRI v1 (RuntimeService, ImageService) over its Unix socket, with the few
 * helpers the demo and the end-to-end tests share. Every stub handed out carries a fresh deadline, so a hung node
 * fails a call instead of hanging a test run.
 */
public final class CriClient implements AutoCloseable {
    /** Long enough for RunPodSandbox on a loaded 2-vCPU machine; short enough to notice a hang. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(60);
    /** The Kubernetes namespace our pods claim (only a label to containerd). */
    public static final String POD_NAMESPACE = "kuasar-e2e";
    /** Label on every pod we create, valued with a per-run tag, so cleanup finds pods whose id we never got. */
    public static final String RUN_LABEL = "io.kuasar.e2e/run";

    /**
     * What the kubelet sends for an ordinary pod: network and IPC shared by the pod, a PID namespace per container.
     * (The proto default, all zeros, would mean a pod-wide PID namespace, i.e. shareProcessNamespace.)
     */
    public static final NamespaceOption KUBELET_NAMESPACES = NamespaceOption.newBuilder().setNetwork(NamespaceMode.POD)
            .setPid(NamespaceMode.CONTAINER).setIpc(NamespaceMode.POD).build();

    /**
     * grpc-netty asks every epoll channel for SO_KEEPALIVE, which a Unix socket does not have; Netty's Bootstrap
     * then logs a warning per connection. Held here so the level setting is not lost with a collected logger.
     */
    private static final Logger BOOTSTRAP_LOG = Logger.getLogger("io.netty.bootstrap");

    static {
        BOOTSTRAP_LOG.setLevel(Level.SEVERE);
    }

    private final EventLoopGroup group;
    private final ManagedChannel channel;
    private final Duration deadline;

    public CriClient(Path socket) {
        this(socket, DEFAULT_DEADLINE);
    }

    public CriClient(Path socket, Duration deadline) {
        this.deadline = deadline;
        this.group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        this.channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(group).channelType(EpollDomainSocketChannel.class).usePlaintext()
                // containerd's CRI answers ListContainers etc. in one message; keep headroom over 4 MiB.
                .maxInboundMessageSize(16 << 20).build();
    }

    /** RuntimeService stub whose calls must finish within the default deadline (counted from now). */
    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
        return runtime(deadline);
    }

    public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime(Duration callDeadline) {
        return RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(callDeadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    public ImageServiceGrpc.ImageServiceBlockingStub images() {
        return ImageServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    // ---- configs --------------------------------------------------------------------------------------------

    /**
     * A pod config: metadata {@code name} in {@link #POD_NAMESPACE} with a fresh uid, the given hostname, log
     * directory and cgroup parent, labelled {@code RUN_LABEL=runTag}. The runtime handler is chosen at
     * {@link #runPod}, as in CRI.
     */
    public static PodSandboxConfig podConfig(String name, String hostname, Path logDir, String cgroupParent,
                                             String runTag) {
        return PodSandboxConfig.newBuilder()
                .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace(POD_NAMESPACE)
                        .setUid(UUID.randomUUID().toString()))
                .setHostname(hostname).setLogDirectory(logDir.toAbsolutePath().toString())
                .putLabels(RUN_LABEL, runTag)
                .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroupParent)
                        .setSecurityContext(LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(KUBELET_NAMESPACES)))
                .build();
    }

    /** A container config running {@code command} in {@code image}, logging to {@code <name>.log} in the pod's log dir. */
    public static ContainerConfig containerConfig(String name, String image, String... command) {
        return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name))
                .setImage(ImageSpec.newBuilder().setImage(image)).addAllCommand(List.of(command))
                .setLogPath(name + ".log")
                .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
                        .setNamespaceOptions(KUBELET_NAMESPACES))).build();
    }

    // ---- lifecycle helpers ----------------------------------------------------------------------------------

    public String runPod(PodSandboxConfig config, String handler) {
        return runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).setRuntimeHandler(handler)
                .build()).getPodSandboxId();
    }

    public String createContainer(String podId, PodSandboxConfig podConfig, ContainerConfig config) {
        return runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(podId)
                .setConfig(config).setSandboxConfig(podConfig).build()).getContainerId();
    }

    public void startContainer(String containerId) {
        runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(containerId).build());
    }

    /** CreateContainer then StartContainer; returns the container id. */
    public String runContainer(String podId, PodSandboxConfig podConfig, ContainerConfig config) {
        String id = createContainer(podId, podConfig, config);
        startContainer(id);
        return id;
    }

    public ContainerStatus containerStatus(String containerId) {
        return runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId).build())
                .getStatus();
    }

    /** Polls until the container is in {@code state}; fails with its last status when it does not get there in time. */
    public ContainerStatus waitForState(String containerId, ContainerState state, Duration timeout) {
        long end = System.nanoTime() + timeout.toNanos();
        ContainerStatus s = containerStatus(containerId);
        while (s.getState() != state) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("container " + containerId + " not " + state + " after " + timeout
                        + "; last status: " + s.getState() + " exit " + s.getExitCode() + " reason '" + s.getReason()
                        + "' message '" + s.getMessage() + "'");
            }
            sleep(100);
            s = containerStatus(containerId);
        }
        return s;
    }

    /** Polls the container's CRI log until its text contains {@code needle}; returns the whole text. */
    public String waitForLog(String containerId, String needle, Duration timeout) {
        Path log = Path.of(containerStatus(containerId).getLogPath());
        long end = System.nanoTime() + timeout.toNanos();
        String text = readLog(log);
        while (!text.contains(needle)) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("log " + log + " of container " + containerId + " lacks '" + needle
                        + "' after " + timeout + "; it holds: '" + text + "'");
            }
            sleep(100);
            text = readLog(log);
        }
        return text;
    }

    /**
     * The message text of a CRI log file: each line is {@code TIMESTAMP STREAM TAG MESSAGE}; tag {@code F} ends a
     * line, {@code P} marks a partial line continued by the next entry. A missing file reads as empty.
     */
    public static String readLog(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read CRI log " + file, e);
        }
        StringBuilder text = new StringBuilder();
        for (String line : lines) {
            String[] f = line.split(" ", 4);
            if (f.length < 3) {
                continue; // a line being written right now
            }
            text.append(f.length == 4 ? f[3] : "");
            if (!f[2].startsWith("P")) {
                text.append('\n');
            }
        }
        return text.toString();
    }

    /** Stops and removes a pod (and so its containers); a pod already gone is fine. */
    public void removePod(String podId) {
        try {
            runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
            runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                throw e;
            }
        }
    }

    /** Pods labelled {@code RUN_LABEL=runTag}, in any state. */
    public List<PodSandbox> podsOfRun(String runTag) {
        return runtime().listPodSandbox(ListPodSandboxRequest.newBuilder()
                .setFilter(PodSandboxFilter.newBuilder().putLabelSelector(RUN_LABEL, runTag)).build()).getItemsList();
    }

    /** Whether a pod with this id is still listed. */
    public boolean podListed(String podId) {
        return !runtime().listPodSandbox(ListPodSandboxRequest.newBuilder()
                .setFilter(PodSandboxFilter.newBuilder().setId(podId)).build()).getItemsList().isEmpty();
    }

    // ---- streaming: the URL of a session on containerd's streaming server (see CriStreams) ------------------

    /** CRI Exec: the streaming URL of {@code cmd} in the container. CRI refuses tty together with stderr. */
    public String execUrl(String containerId, boolean tty, boolean stdin, String... cmd) {
        return runtime().exec(io.kuasar.api.cri.v1.ExecRequest.newBuilder().setContainerId(containerId)
                .addAllCmd(List.of(cmd)).setTty(tty).setStdin(stdin).setStdout(true).setStderr(!tty).build()).getUrl();
    }

    /** CRI Attach: the streaming URL of the container's init process's streams. */
    public String attachUrl(String containerId, boolean tty, boolean stdin) {
        return runtime().attach(io.kuasar.api.cri.v1.AttachRequest.newBuilder().setContainerId(containerId)
                .setTty(tty).setStdin(stdin).setStdout(true).setStderr(!tty).build()).getUrl();
    }

    /** CRI PortForward: the streaming URL for forwarding into the pod's network namespace. */
    public String portForwardUrl(String podId, int port) {
        return runtime().portForward(io.kuasar.api.cri.v1.PortForwardRequest.newBuilder().setPodSandboxId(podId)
                .addPort(port).build()).getUrl();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
