package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.vmm.agent.proto.PortsResponse;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.kuasar.ttrpc.TtrpcServer;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The port mirror against a guest that answers WatchPorts at once, every time, with a new set of 1000 ports (a real
 * ttrpc server on the agent socket; the VMM is a recorder): the host forwards at most 64 of them, at most one round
 * per 250 ms, and stops once the pod is no longer READY. A pod without the pod NIC is never mirrored.
 */
@Timeout(60)
class PortMirrorTest {
    @TempDir
    Path tmp;
    private final EventLoopGroup loop = TtrpcEventLoops.newGroup(1, "test-port-mirror");
    private final ExecutorService handlers = Executors.newCachedThreadPool();
    private final ScheduledExecutorService work = Executors.newSingleThreadScheduledExecutor();
    private final List<AutoCloseable> open = new ArrayList<>();
    private final AtomicLong version = new AtomicLong();

    /** When the guest was asked (WatchPorts requests), and what the mirror asked the VMM to forward. */
    private final List<Long> asked = new CopyOnWriteArrayList<>();
    private final List<Set<Integer>> rounds = new CopyOnWriteArrayList<>();
    private final Vmm recorder = (Vmm) Proxy.newProxyInstance(Vmm.class.getClassLoader(),
            new Class<?>[] {Vmm.class}, (proxy, method, args) -> {
                if (method.getName().equals("forwardPorts")) {
                    @SuppressWarnings("unchecked")
                    Set<Integer> ports = (Set<Integer>) args[1];
                    rounds.add(ports);
                    return null;
                }
                throw new UnsupportedOperationException(method.getName());
            });

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) {
            c.close();
        }
        work.shutdownNow();
        handlers.shutdownNow();
        loop.shutdownGracefully();
    }

    private VmPod podWithFloodingGuest(String tap) throws IOException {
        TtrpcServer server = new TtrpcServer(handlers);
        open.add(server::close);
        server.register(AgentClient.SERVICE, "WatchPorts", (ctx, payload) -> {
            asked.add(System.nanoTime());
            PortsResponse.Builder r = PortsResponse.newBuilder().setVersion(version.incrementAndGet());
            for (long p = 1; p <= 1000; p++) {
                r.addPorts((p + version.get()) % 65536);
            }
            return CompletableFuture.completedFuture(r.build());
        });
        Path dir = Files.createDirectory(tmp.resolve("pod"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        server.listen(dir.resolve("agent.sock"));
        VmPod pod = new VmPod("p1", "k8s.io", "/var/run/netns/p1", "p1", Instant.now(), Map.of(), dir);
        AgentClient agent = AgentClient.connect(dir.resolve("agent.sock"), loop);
        open.add(agent);
        synchronized (pod) {
            pod.tap = tap;
            pod.pid = ProcessHandle.current().pid();
            pod.state = SandboxStatus.State.READY;
        }
        pod.agent = agent;
        return pod;
    }

    @Test
    void aFloodingGuestIsPacedAndCappedAndTheMirrorEndsWithThePod() throws Exception {
        VmPod pod = podWithFloodingGuest(PodNetwork.TAP);
        PortMirror.start(pod, recorder, work);
        Thread.sleep(2000);
        synchronized (pod) {
            pod.state = SandboxStatus.State.NOTREADY;
        }
        Thread.sleep(500); // a round already under way may still finish
        int atStop = rounds.size();
        Thread.sleep(1000);
        assertEquals(atStop, rounds.size(), "no round after the pod stopped being READY");
        assertTrue(atStop >= 2 && atStop <= 2500 / 250 + 1, "rounds in 2.5 s: " + atStop);
        for (int i = 0; i < rounds.size(); i++) {
            assertTrue(rounds.get(i).size() <= PortForwards.MAX_PORTS, "ports forwarded in round " + i);
        }
        for (int i = 1; i < asked.size(); i++) {
            // 250 ms apart as sent; less only by how much later the previous request arrived than this one
            long gapMs = (asked.get(i) - asked.get(i - 1)) / 1_000_000;
            assertTrue(gapMs >= 200, "request " + i + " came " + gapMs + " ms after the one before");
        }
    }

    @Test
    void aPodWithoutThePodNicIsNotMirrored() throws Exception {
        VmPod pod = podWithFloodingGuest("");
        PortMirror.start(pod, recorder, work);
        Thread.sleep(500);
        assertEquals(List.of(), rounds, "QEMU of a pod without a pod network runs in the host's namespace");
    }
}
