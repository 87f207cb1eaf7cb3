package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.PodSandboxStatusRequest;

/**
 * Pod networking over the CNI bridge (critest "Networking"): each pod gets an address on the bridge, reported in
 * its status, with loopback up and a default route; pods reach each other by address, also across the two
 * handlers (a stock pod and a Kuasar pod share the bridge). hostPort is not covered: there is no iptables here.
 */
class CriNetworkingTest extends CriParityTestBase {
    /** Serves a page naming its pod on every address of the pod. */
    private static final String SERVER = "mkdir -p /www && echo served-by-$(hostname) > /www/index.html"
            + " && exec httpd -f -p 8080 -h /www";

    @OnParityHandlers
    void podGetsAnAddressOnTheBridgeReportedInItsStatusWithLoopbackAndADefaultRoute(String handler) {
        Pod p = pod("addr", handler);
        String ip = podIp(p.id);
        String id = p.running(sleeper("addr"));
        assertTrue(sh(id, "ip -o -4 addr show eth0").contains(" " + ip + "/"), "eth0 holds the reported address " + ip);
        assertTrue(sh(id, "ip -o link show lo").contains("UP"), "loopback is up");
        assertTrue(sh(id, "ip route").contains("default via "), "default route");
    }

    @OnParityHandlers
    void podsOfTheSameHandlerReachEachOtherByAddress(String handler) {
        assertReaches(handler, handler);
    }

    /** The server runs on {@code handler}, the client on the other one: both kinds of pod share the bridge. */
    @OnParityHandlers
    void podsOfTheOtherHandlerReachThisHandlersPod(String handler) {
        assertReaches(handler, handler.equals(NodeEnv.KUASAR_HANDLER) ? NodeEnv.STOCK_HANDLER : NodeEnv.KUASAR_HANDLER);
    }

    private void assertReaches(String serverHandler, String clientHandler) {
        Pod server = pod(podConfig("server").toBuilder().setHostname("web-" + serverHandler).build(), serverHandler);
        server.running(container("httpd", "sh", "-c", SERVER));
        String ip = podIp(server.id);
        Pod client = pod("client", clientHandler);
        // Retries while httpd starts (container side), keeping only the last try's error, for when none succeeds
        // (a server in a VM takes longer to listen); no -T: busybox 1.35's wget crashes with it.
        String got = client.output(container("wget"), "ok=; for i in $(seq 100); do"
                + " if got=$(wget -q -O - http://" + ip + ":8080/ 2>&1); then ok=1; break; fi; sleep 0.1; done;"
                + " echo \"$got\"; [ -n \"$ok\" ]");
        assertEquals("served-by-web-" + serverHandler + "\n", got, "from " + clientHandler + " to " + serverHandler);
    }

    private String podIp(String podId) {
        return cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId).build())
                .getStatus().getNetwork().getIp();
    }
}
