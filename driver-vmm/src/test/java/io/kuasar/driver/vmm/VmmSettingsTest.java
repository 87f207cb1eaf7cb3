package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Sizing a pod's VM from its annotations. */
class VmmSettingsTest {
    private final VmmSettings s = new VmmSettings("qemu", Path.of("/img"), "tcg", 1, 2, 256, 64, 1024,
            Duration.ofSeconds(60), Duration.ofSeconds(5), true, false);

    @Test
    void defaultsWhenThePodSaysNothing() throws SandboxException {
        assertEquals(1, s.vcpus(Map.of()));
        assertEquals(256, s.memoryMb(Map.of()));
    }

    @Test
    void ourAnnotationsThenCriPodResources() throws SandboxException {
        assertEquals(2, s.vcpus(Map.of(VmmSettings.VCPUS_ANNOTATION, "2")));
        assertEquals(2, s.vcpus(Map.of(VmmSettings.CRI_CPU_QUOTA, "150000", VmmSettings.CRI_CPU_PERIOD, "100000")),
                "1.5 CPUs round up");
        assertEquals(512, s.memoryMb(Map.of(VmmSettings.MEMORY_ANNOTATION, "512")));
        assertEquals(300, s.memoryMb(Map.of(VmmSettings.CRI_MEMORY, Long.toString(300L << 20))));
        assertEquals(64, s.memoryMb(Map.of(VmmSettings.CRI_MEMORY, "1000")), "a tiny limit gets the floor");
    }

    @Test
    void outOfBoundsOrGarbageIsInvalidArgumentNamingIt() {
        SandboxException cpus = assertThrows(SandboxException.class, () -> s.vcpus(Map.of(VmmSettings.VCPUS_ANNOTATION, "3")));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, cpus.code());
        assertTrue(cpus.getMessage().contains("1 to 2 vCPUs"), cpus.getMessage());
        SandboxException mem = assertThrows(SandboxException.class,
                () -> s.memoryMb(Map.of(VmmSettings.MEMORY_ANNOTATION, "4096")));
        assertTrue(mem.getMessage().contains("64 to 1024 MiB"), mem.getMessage());
        SandboxException nan = assertThrows(SandboxException.class,
                () -> s.memoryMb(Map.of(VmmSettings.MEMORY_ANNOTATION, "lots")));
        assertTrue(nan.getMessage().contains(VmmSettings.MEMORY_ANNOTATION), nan.getMessage());
    }
}
