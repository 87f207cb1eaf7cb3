package io.kuasar.wasm.engine.wasmtime.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModuleBinaryTest {
    private static byte[] testModule() throws IOException {
        try (InputStream in = ModuleBinaryTest.class.getResourceAsStream("/wasm-test.wasm")) {
            return in.readAllBytes();
        }
    }

    /** (module (memory 1 MAX?) (func (export "_start"))) with the memory's limits given as bytes. */
    private static byte[] withMemory(int... limits) {
        byte[] head = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0};
        byte[] tail = {7, 10, 1, 6, '_', 's', 't', 'a', 'r', 't', 0, 0, 10, 4, 1, 2, 0, 11};
        byte[] m = new byte[head.length + 3 + limits.length + tail.length];
        System.arraycopy(head, 0, m, 0, head.length);
        int p = head.length;
        m[p++] = 5;
        m[p++] = (byte) (1 + limits.length);
        m[p++] = 1;
        for (int l : limits) {
            m[p++] = (byte) l;
        }
        System.arraycopy(tail, 0, m, p, tail.length);
        return m;
    }

    @Test
    void theTestModulesMemoryGetsTheCapAsItsMaximumAndNothingElseChanges() throws IOException {
        byte[] bytes = testModule();
        ModuleBinary m = ModuleBinary.parse(bytes);
        assertEquals(1, m.memories().size());
        assertEquals(-1, m.memories().get(0).max(), "clang's module declares no maximum");
        assertTrue(m.exports().contains(new ModuleBinary.Export("_start", 0)), m.exports()::toString);
        ModuleBinary capped = ModuleBinary.parse(m.withMemoryCap(256));
        assertEquals(List.of(new ModuleBinary.Limits(m.memories().get(0).min(), 256)), capped.memories());
        assertEquals(m.exports(), capped.exports());
        assertArrayEquals(bytes, m.withMemoryCap(0), "no limit: the module as it is");
    }

    @Test
    void aLowerMaximumOfTheModuleIsKeptAndAMinimumAboveTheCapIsRefused() {
        ModuleBinary small = ModuleBinary.parse(withMemory(1, 1, 2));
        assertEquals(List.of(new ModuleBinary.Limits(1, 2)), ModuleBinary.parse(small.withMemoryCap(100)).memories());
        ModuleBinary big = ModuleBinary.parse(withMemory(1, 50, 60));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> big.withMemoryCap(10));
        assertTrue(e.getMessage().contains("more than the container's memory limit"), e.getMessage());
    }

    @Test
    void badFramingIsNamed() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModuleBinary.parse(new byte[] {1, 2}))
                .getMessage().contains("no \\0asm header"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModuleBinary.parse(
                new byte[] {0, 'a', 's', 'm', 13, 0, 1, 0})).getMessage().contains("version 13"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModuleBinary.parse(
                new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 100, 0})).getMessage().contains("past the end"));
    }
}
