package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ExecSyncResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CRI PortForward into the pod's network namespace, to a busybox httpd listening in a container of the pod. Also on
 * {@code kuasar-runsc}: containerd forwards in the netns the sandboxer reported, where gVisor's sockets are the host
 * stack's (runsc --network=host); and on {@code kuasar-vmm}, where the pod's address is the guest's and QEMU listens
 * on loopback in the netns for each port the guest listens on (driver-vmm's port mirror).
 */
class RuncPortForwardTest extends RuncFeatureBase {
    private static final int PORT = 8080;
    /** The host side of a VM's port-forward NIC (driver-vmm's PortForwards.HOST_ADDRESS). */
    private static final String VM_FORWARD_HOST = "192.0.2.1";
    /** Between two tries while nothing listens yet; a try that finds the server is not delayed. */
    private static final Duration RETRY_PAUSE = Duration.ofMillis(250);

    static List<String> handlersGvisorAndVm() {
        return List.of(NodeEnv.STOCK_HANDLER, NodeEnv.KUASAR_HANDLER, CriParityTestBase.RUNSC, VmmPodTest.VMM_HANDLER);
    }

    private Started startServer(String handler) {
        return start(handler, "portfwd", containerConfig("web", busybox(), "sh", "-c",
                "mkdir -p /www && echo forwarded-ok > /www/index.html && httpd -f -p " + PORT + " -h /www"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersGvisorAndVm")
    void portForwardReachesAServerInThePod(String handler) {
        Started s = startServer(handler);
        String reply = forwardedGet(cri, s.podId(), PORT, "forwarded-ok", waitOn(handler));
        assertTrue(reply.contains("200 OK") && reply.contains("forwarded-ok"), reply);
    }

    /**
     * The VM's forward NIC leads nowhere from inside: a container reaches its own server on loopback, but neither the
     * NIC's host side (QEMU's restricted user-mode network, whose forward listens on the same port in the pod's netns)
     * nor anything past it; the guest has no route through it beyond its /30.
     */
    @Test
    void aVmPodCannotUseTheForwardNicToReachOut() {
        Started s = startServer(VmmPodTest.VMM_HANDLER);
        String forwarded = forwardedGet(cri, s.podId(), PORT, "forwarded-ok", waitOn(VmmPodTest.VMM_HANDLER));
        assertTrue(forwarded.contains("forwarded-ok"), () -> "the forward works: " + forwarded);
        ExecSyncResponse inside = httpGet(s.containerId(), "127.0.0.1");
        ExecSyncResponse viaNic = httpGet(s.containerId(), VM_FORWARD_HOST);
        List<String> nicRoutes = execSync(s.containerId(), "ip", "route").getStdout().toStringUtf8().lines()
                .filter(l -> l.contains("eth1")).map(l -> l.strip().replaceAll("\\s+", " ")).toList();
        assertAll(() -> assertTrue(inside.getStdout().toStringUtf8().contains("forwarded-ok"),
                        () -> "the server answers inside the pod: " + inside.getStderr().toStringUtf8()),
                () -> assertTrue(viaNic.getExitCode() != 0
                        && !viaNic.getStdout().toStringUtf8().contains("forwarded-ok"),
                        () -> "the forward NIC's host side answered: " + viaNic.getStdout().toStringUtf8()),
                () -> assertEquals(List.of("192.0.2.0/30 dev eth1 scope link src 192.0.2.2"), nicRoutes,
                        "the forward NIC's only route is its /30"));
    }

    /** A GET with busybox nc (its wget crashes with -T in the guest), which exits non-zero when refused. */
    private ExecSyncResponse httpGet(String containerId, String host) {
        return execSync(containerId, "sh", "-c", "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 " + host + " "
                + PORT);
    }

    /**
     * A GET of {@code /index.html} through CRI PortForward to {@code port} of the pod, tried until the answer holds
     * {@code expected} or {@code wait} passes: until the server has bound (and, in a VM pod, until the port mirror
     * has seen it, about 0.3 s later) containerd finds nothing listening and ends the stream, before or after the
     * request. Returns the last answer, or what the streams held.
     */
    static String forwardedGet(CriClient cri, String podId, int port, String expected, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        String reply = "";
        while (!reply.contains(expected) && System.nanoTime() < deadline) {
            try (CriStreams.Session session = CriStreams.portForward(cri.portForwardUrl(podId, port), port)) {
                try {
                    session.send(0, "GET /index.html HTTP/1.0\r\n\r\n");
                    reply = session.awaitText(0, expected, Duration.ofSeconds(5));
                } catch (IllegalStateException | java.util.concurrent.CompletionException notYet) {
                    reply = session.text(0) + " / error channel: " + session.text(1);
                    sleep(RETRY_PAUSE);
                }
            }
        }
        return reply;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }
}
