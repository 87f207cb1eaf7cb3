package io.kuasar.wasm.engine.wasmtime.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class LinearMemoryMappingTest {
    private static final List<String> MAPS = List.of(
            "7f0000000000-7f0000010000 rw-p 00000000 00:00 0 ",
            "7f1000000000-7f1000020000 rw-p 00000000 00:01 1234 /memfd:wasm-memory-image (deleted)",
            "7f1000020000-7f1000060000 rw-p 00000000 00:00 0 ",
            "7f1000060000-7f1180000000 ---p 00000000 00:00 0 ",
            "7f1180000000-7f1180010000 rw-p 00000000 00:00 0 ");

    @Test
    void theReadWriteMappingsFromTheBaseOnAreTheAccessibleMemory() {
        assertEquals(0x60000, LinearMemoryMapping.accessibleBytes(MAPS, 0x7f1000000000L),
                "the image mapping and the anonymous rest, up to the inaccessible reservation");
        assertEquals(0x40000, LinearMemoryMapping.accessibleBytes(MAPS, 0x7f1000020000L));
    }

    @Test
    void aBaseThatStartsNoMappingOrAnInaccessibleOneHasNone() {
        assertEquals(0, LinearMemoryMapping.accessibleBytes(MAPS, 0x7f1000010000L), "inside a mapping, not its start");
        assertEquals(0, LinearMemoryMapping.accessibleBytes(MAPS, 0x7f1000060000L), "---p");
        assertEquals(0, LinearMemoryMapping.accessibleBytes(MAPS, 0x7e0000000000L), "no mapping at all");
    }
}
