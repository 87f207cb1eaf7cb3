package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerGrpc;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerMetricsRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerPlatformRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerUpdateRequest;
import io.kuasar.api.containerd.types.Metric;
import io.kuasar.api.containerd.types.Platform;
import io.kuasar.api.containerd.types.Sandbox;
import io.kuasar.api.cri.v1.ContainerStatsRequest;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * containerd's sandbox Controller calls CRI does not make for a sandboxer pod (containerd 2.1's CRI reads a pod's
 * cgroup parent itself for PodSandboxStats and never calls the Controller's Update), made as any containerd client
 * makes them: on containerd's own socket, which hands them to our sandboxer through its proxy plugin. A CRI pod whose
 * container holds 32 MiB (a file in its tmpfs /dev/shm, charged to its memory cgroup) shows at least that in its Metrics; an Update's pod resources reach the pod's cgroup, and
 * one the pod's cgroup cannot take is refused naming it, with nothing changed; Platform, which
 * containerd serves only to its CRI, is the host's when asked on our socket.
 */
@ExtendWith(NodeExtension.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ControllerMetricsUpdateTest extends CriTestBase {
    private static final Metadata.Key<String> NAMESPACE =
            Metadata.Key.of("containerd-namespace", Metadata.ASCII_STRING_MARSHALLER);
    private static final String SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
    private static final long HELD = 32L << 20;
    private static final long LIMIT = 256L << 20;
    private static final HostCgroups CGROUPS = HostCgroups.host();

    private EventLoopGroup group;
    private ManagedChannel channel;
    private ManagedChannel ours;
    private String podCgroup;

    @BeforeEach
    void connect() {
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        channel = channel(env.containerdSock());
        ours = channel(env.sandboxerSock());
    }

    private ManagedChannel channel(Path socket) {
        return NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString())).eventLoopGroup(group)
                .channelType(EpollDomainSocketChannel.class).usePlaintext().build();
    }

    @AfterEach
    void disconnect() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        ours.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /** Runs after the base's pod removal (JUnit runs a subclass's @AfterEach first, so remove the pod here). */
    @AfterEach
    void removePodCgroup() {
        removePods();
        if (podCgroup != null) {
            for (Path dir : CGROUPS.dirsEverywhere(podCgroup)) {
                dir.toFile().delete(); // rmdir of the emptied pod cgroup; the files inside are virtual
            }
        }
    }

    /** containerd's Controller service, in CRI's namespace. */
    private ControllerGrpc.ControllerBlockingStub controller() {
        return controller(channel);
    }

    private static ControllerGrpc.ControllerBlockingStub controller(ManagedChannel on) {
        Metadata headers = new Metadata();
        headers.put(NAMESPACE, "k8s.io");
        return ControllerGrpc.newBlockingStub(on).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(
                headers)).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    @Test
    void runcPodMetricsUpdateAndPlatformThroughContainerd() throws Exception {
        PodSandboxConfig base = podConfig("ctl");
        podCgroup = env.cgroupParent().replaceFirst("/+$", "") + "/" + runTag;
        PodSandboxConfig pod = base.toBuilder().setLinux(base.getLinux().toBuilder().setCgroupParent(podCgroup))
                .build();
        String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
        String id = cri.runContainer(podId, pod, containerConfig("hold", busybox(), "sh", "-c",
                "head -c " + HELD + " /dev/zero > /dev/shm/held && echo ready; sleep 3600"));
        cri.waitForLog(id, "ready", WAIT);
        String sandboxer = NodeEnv.KUASAR_SANDBOXER;

        Metric metric = controller().metrics(ControllerMetricsRequest.newBuilder().setSandboxId(podId)
                .setSandboxer(sandboxer).build()).getMetrics();
        assertEquals(podId, metric.getId());
        assertTrue(metric.getTimestamp().getSeconds() > 0, metric::toString);
        UnknownFieldSet m = UnknownFieldSet.parseFrom(metric.getData().getValue());
        long memory;
        long pids;
        if (CGROUPS.isV1()) {
            assertEquals("io.containerd.cgroups.v1.Metrics", metric.getData().getTypeUrl());
            memory = number(message(message(m, 4), 33), 2); // MemoryStat.usage.usage
            pids = number(message(m, 2), 1);
        } else {
            assertEquals("io.containerd.cgroups.v2.Metrics", metric.getData().getTypeUrl());
            memory = number(message(m, 4), 32); // MemoryStat.usage
            pids = number(message(m, 1), 1);
        }
        long used = memory;
        assertTrue(used >= HELD, () -> "pod memory " + used + " < the " + HELD + " its container holds");
        assertTrue(pids >= 1, "pids of the pod: " + pids);

        update(podId, sandboxer, "{\"memory\":{\"limit\":" + LIMIT + "},\"cpu\":{\"quota\":50000,\"period\":100000}}",
                "spec", "labels.team");
        assertEquals(LIMIT, memoryLimit(podCgroup));

        StatusRuntimeException cpus = assertThrows(StatusRuntimeException.class, () -> update(podId, sandboxer,
                "{\"memory\":{\"limit\":" + (LIMIT * 2) + "},\"cpu\":{\"cpus\":\"0\"}}", "spec"));
        assertEquals(Status.Code.FAILED_PRECONDITION, cpus.getStatus().getCode(), cpus::getMessage);
        assertTrue(cpus.getMessage().contains("linux.resources.cpu.cpus"), cpus::getMessage);
        StatusRuntimeException runtime = assertThrows(StatusRuntimeException.class, () -> update(podId, sandboxer,
                "{\"memory\":{\"limit\":" + (LIMIT * 2) + "}}", "spec", "runtime"));
        assertEquals(Status.Code.INVALID_ARGUMENT, runtime.getStatus().getCode(), runtime::getMessage);
        assertTrue(runtime.getMessage().contains("runtime"), runtime::getMessage);
        assertEquals(LIMIT, memoryLimit(podCgroup), "a refused update changed the pod's cgroup");

        // containerd 2.1's Controller service does not serve Platform; its CRI asks the sandboxer (SandboxPlatform) at
        // every container create and stats listing, as here
        Platform platform = controller(ours).platform(ControllerPlatformRequest.newBuilder().setSandboxId(podId)
                .setSandboxer(sandboxer).build()).getPlatform();
        assertEquals("linux", platform.getOs());
        assertEquals(hostArch(), platform.getArchitecture());
    }

    /**
     * The record's runtime, as CRI stores it for the handler: containerd 2.1's Controller service dereferences it
     * (core/sandbox/helpers.go FromProto) and dies on a record without one, so a client sends the whole record.
     */
    private static final Sandbox.Runtime RUNTIME = Sandbox.Runtime.newBuilder().setName("io.containerd.runc.v2")
            .build();

    /**
     * runsc: the sandbox's host cgroup (the sentry holds every container's memory, its tmpfs too); vmm: the QEMU
     * process's host cgroup, which holds the guest's RAM as the guest touched it. Both show at least what the
     * container holds and some CPU time. An Update's pod resources cap that cgroup; what it cannot apply is refused,
     * named.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"kuasar-runsc, runsc", "kuasar-vmm, vmm"})
    void podMetricsOfTheSandboxAndAClearRefusalOfPodResources(String handler, String sandboxer) throws Exception {
        HostTools.requireHandler(handler);
        PodSandboxConfig pod = podConfig("ctl");
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, containerConfig("hold", busybox(), "sh", "-c",
                "head -c " + HELD + " /dev/zero > /dev/shm/held && echo ready; sleep 3600"));
        cri.waitForLog(id, "ready", Duration.ofSeconds(90));

        V1Figures f = v1Metrics(podId, sandboxer);
        long memory = f.memory();
        long cpu = f.cpu();
        assertTrue(memory >= HELD, () -> handler + " pod memory " + memory + " < the " + HELD + " its container holds");
        assertTrue(cpu > 0, () -> handler + " pod CPU time " + cpu);

        // the sandbox's own host cgroup below the pod's parent (gVisor's sentry, or QEMU) takes the pod's resources;
        // a VM's cap must leave room for the guest's RAM QEMU already holds (the kernel refuses less)
        long cap = handler.equals("kuasar-vmm") ? 4L << 30 : LIMIT;
        update(podId, sandboxer, "{\"memory\":{\"limit\":" + cap + "}}", "spec");
        assertEquals(cap, memoryLimit(pod.getLinux().getCgroupParent().replaceFirst("/+$", "") + "/kuasar-"
                + sandboxer + "-" + podId));
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> update(podId, sandboxer,
                "{\"memory\":{\"limit\":" + cap + "},\"cpu\":{\"cpus\":\"0\"}}", "spec"));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode(), refused::getMessage);
        assertTrue(refused.getMessage().contains("linux.resources.cpu.cpus"), refused::getMessage);
        update(podId, sandboxer, "{}", "labels.team");

        Platform platform = controller(ours).platform(ControllerPlatformRequest.newBuilder().setSandboxId(podId)
                .setSandboxer(sandboxer).build()).getPlatform();
        assertEquals("linux", platform.getOs());
        assertEquals(hostArch(), platform.getArchitecture(), "the guest kernel here is built for the host's arch");
    }

    /**
     * wasm: the engines' own accounting of the pod's running modules (WasmEdge: each process's cgroup; Chicory and
     * Wasmtime: CPU time and linear memory), summed; with one module, its figures. Update of pod resources: applied to
     * the pod's cgroup on WasmEdge, refused by the in-node engines, saying why.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"kuasar-wasm, wasm", "kuasar-wasmtime, wasmtime", "kuasar-wasmedge, wasmedge"})
    void wasmPodMetricsAreItsModulesAccounting(String handler, String sandboxer) throws Exception {
        PodSandboxConfig base = podConfig("ctl");
        podCgroup = env.cgroupParent().replaceFirst("/+$", "") + "/" + runTag; // a parent of its own: it gets capped
        PodSandboxConfig pod = base.toBuilder().setLinux(base.getLinux().toBuilder().setCgroupParent(podCgroup))
                .build();
        String podId = runPod(pod, handler);
        String id = cri.runContainer(podId, pod, WasmPodTest.wasm("loop", "quiet", "loop"));
        cri.waitForLog(id, "looping", WAIT);
        long containerCpu = cri.runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(id)
                .build()).getStats().getCpu().getUsageCoreNanoSeconds().getValue();

        V1Figures f = v1Metrics(podId, sandboxer);
        long memory = f.memory();
        long cpu = f.cpu();
        assertTrue(memory > 0, () -> handler + " pod memory " + memory);
        assertTrue(cpu >= containerCpu && containerCpu > 0, () -> handler + " pod CPU " + cpu + " < its module's "
                + containerCpu + " read before");

        if (handler.equals("kuasar-wasmedge")) {
            // its WasmEdge processes live below the pod's cgroup parent: the pod's resources cap them together
            update(podId, sandboxer, "{\"memory\":{\"limit\":" + LIMIT + "}}", "spec");
            assertEquals(LIMIT, memoryLimit(podCgroup));
        } else {
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> update(podId,
                    sandboxer, "{\"memory\":{\"limit\":" + LIMIT + "}}", "spec"));
            assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode(), refused::getMessage);
            assertTrue(refused.getMessage().contains("threads of the node"), refused::getMessage);
        }
    }

    /** Memory usage and CPU time of a pod's cgroups v1 Metrics, asked through containerd. */
    record V1Figures(long memory, long cpu) {
    }

    private V1Figures v1Metrics(String podId, String sandboxer) throws Exception {
        Metric metric = controller().metrics(ControllerMetricsRequest.newBuilder().setSandboxId(podId)
                .setSandboxer(sandboxer).build()).getMetrics();
        assertEquals(podId, metric.getId());
        assertEquals("io.containerd.cgroups.v1.Metrics", metric.getData().getTypeUrl());
        UnknownFieldSet m = UnknownFieldSet.parseFrom(metric.getData().getValue());
        return new V1Figures(number(message(message(m, 4), 33), 2), number(message(message(m, 3), 1), 1));
    }

    private void update(String podId, String sandboxer, String resources, String... fields) {
        byte[] spec = ("{\"linux\":{\"resources\":" + resources + "}}").getBytes(StandardCharsets.UTF_8);
        controller().update(ControllerUpdateRequest.newBuilder().setSandboxId(podId).setSandboxer(sandboxer)
                .setSandbox(Sandbox.newBuilder().setSandboxId(podId).setSandboxer(sandboxer).putLabels("team", "a")
                        .setRuntime(RUNTIME)
                        .setSpec(Any.newBuilder().setTypeUrl(SPEC_TYPE).setValue(ByteString.copyFrom(spec))))
                .addAllFields(List.of(fields)).build());
    }

    private static long memoryLimit(String cgroup) throws Exception {
        Path dir = CGROUPS.dir("memory", cgroup);
        String text = CGROUPS.isV1() ? Files.readString(dir.resolve("memory.limit_in_bytes"))
                : Files.readString(dir.resolve("memory.max"));
        return Long.parseLong(text.trim());
    }

    /** The OCI name of this JVM's architecture, as containerd's platforms package spells it. */
    private static String hostArch() {
        String arch = System.getProperty("os.arch");
        return switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> arch;
        };
    }

    private static UnknownFieldSet message(UnknownFieldSet set, int field) throws Exception {
        List<ByteString> values = set.getField(field).getLengthDelimitedList();
        return values.isEmpty() ? UnknownFieldSet.getDefaultInstance() : UnknownFieldSet.parseFrom(values.get(0));
    }

    private static long number(UnknownFieldSet set, int field) {
        List<Long> values = set.getField(field).getVarintList();
        return values.isEmpty() ? 0 : values.get(0);
    }
}
