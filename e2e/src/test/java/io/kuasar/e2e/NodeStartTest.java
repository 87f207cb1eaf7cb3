package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The node as Felix started it: every bundle resolved and every DS component satisfied (the runc driver arrived at
 * the router, the endpoint serves containerd), with no framework or SCR error in its log since its last start; it
 * trusts its own build's signer and watches the drivers drop-in folder through its own check.
 */
class NodeStartTest extends CriTestBase {
    @Test
    void nodeStartsItsBundlesAndComponentsWithoutError() throws IOException {
        String log = Files.readString(env.nodeDir().resolve("kuasar.log"));
        String lastStart = log.substring(Math.max(0, log.lastIndexOf("=== kuasar-up")));
        assertTrue(lastStart.contains("driver for sandboxer(s) [runc] arrived"), "runc driver never arrived:\n" + lastStart);
        assertTrue(lastStart.contains("serving containerd's sandbox Controller at " + env.sandboxerSock()),
                "endpoint never served:\n" + lastStart);
        assertTrue(lastStart.contains("trusted signers (") && lastStart.contains("kuasar-build CN=Kuasar build signer"),
                "the node trusts its own build's signer:\n" + lastStart);
        assertTrue(lastStart.contains("drivers drop-in folder " + env.nodeDir().resolve("kuasar/drivers")
                + ": every jar is checked"), "the drop-in folder goes through the node's check:\n" + lastStart);
        List<String> errors = lastStart.lines()
                .filter(l -> l.contains("ERROR : bundle") || l.contains(" SEVERE ") || l.contains("Exception in"))
                .toList();
        assertEquals(List.of(), errors, "errors in the node log since its start");
    }
}
