package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Handler {@code kuasar-quark} reaches driver-quark's {@code quark} sandboxer through containerd, beside
 * {@code kuasar-runsc}. Quark cannot be installed on this machine kind, so the pod must fail with an error naming
 * the missing binary and its setting, and leave nothing in the driver's state.
 */
class RunscQuarkHandlerTest extends CriTestBase {
    @Test
    void withoutQuarkInstalledRunPodFailsNamingTheBinaryAndLeavesNoState() {
        assumeFalse(Files.exists(Path.of("/usr/local/bin/quark")), "a Quark is installed: nothing to check");
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> runPod(podConfig("quark-missing"), "kuasar-quark"));
        assertTrue(e.getMessage().contains("quark.binary"), e::getMessage);
        assertEquals(List.of(), cri.podsOfRun(runTag).stream().map(p -> p.getId()).toList(), "no pod left listed");
        Path quarkState = env.kuasarStateDir().resolve("quark/quark");
        assertEquals(List.of(), HostTraces.pathsNaming(quarkState, List.of(".json")), "no sandbox state left");
    }
}
