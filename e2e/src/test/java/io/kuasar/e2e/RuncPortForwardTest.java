package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * CRI PortForward into the pod's network namespace, to a busybox httpd listening in a container of the pod. Also on
 * {@code kuasar-runsc}: containerd forwards in the netns the sandboxer reported, where gVisor's sockets are the host
 * stack's (runsc --network=host).
 */
class RuncPortForwardTest extends RuncFeatureBase {
    private static final int PORT = 8080;

    @ParameterizedTest(name = "{0}")
    @MethodSource("handlersAndGvisor")
    void portForwardReachesAServerInThePod(String handler) {
        Started s = start(handler, "portfwd", containerConfig("web", busybox(), "sh", "-c",
                "mkdir -p /www && echo forwarded-ok > /www/index.html && httpd -f -p " + PORT + " -h /www"));
        // httpd listens once its process is up; a few tries cover the moment before bind().
        String reply = "";
        for (int attempt = 0; attempt < 20 && !reply.contains("forwarded-ok"); attempt++) {
            try (CriStreams.Session session = CriStreams.portForward(cri.portForwardUrl(s.podId(), PORT), PORT)) {
                try {
                    session.send(0, "GET /index.html HTTP/1.0\r\n\r\n");
                    reply = session.awaitText(0, "forwarded-ok", Duration.ofSeconds(5));
                } catch (IllegalStateException | java.util.concurrent.CompletionException notYet) {
                    // the server is not listening yet: containerd ends the stream, before or after the request
                    reply = session.text(0) + " / error channel: " + session.text(1);
                }
            }
        }
        assertTrue(reply.contains("200 OK") && reply.contains("forwarded-ok"), reply);
    }
}
