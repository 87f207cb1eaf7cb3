package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A guest kernel's boot header tells the platform of the pod's containers, whatever the host is. */
class GuestPlatformTest {
    private static Path kernel(Path dir, int at, String magic, int xloadflags) throws Exception {
        byte[] image = new byte[4096];
        byte[] m = magic.getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(m, 0, image, at, m.length);
        image[0x236] = (byte) xloadflags;
        return Files.write(dir.resolve("vmlinuz-" + at + "-" + xloadflags), image);
    }

    @Test
    void theBootHeaderNamesTheArchitecture(@TempDir Path dir) throws Exception {
        assertEquals(new Platform("linux", "amd64", ""), GuestPlatform.of(kernel(dir, 0x202, "HdrS", 0x1b)));
        assertEquals(new Platform("linux", "386", ""), GuestPlatform.of(kernel(dir, 0x202, "HdrS", 0)));
        assertEquals(new Platform("linux", "arm64", "v8"), GuestPlatform.of(kernel(dir, 0x38, "ARM\u0064", 0)));
        assertEquals(new Platform("linux", "riscv64", ""), GuestPlatform.of(kernel(dir, 0x38, "RSC\u0005", 0)));
    }

    @Test
    void aKernelOfUnknownFormatOrNoneIsRefusedNamingIt(@TempDir Path dir) throws Exception {
        Path junk = Files.write(dir.resolve("junk"), new byte[16]);
        SandboxException e = assertThrows(SandboxException.class, () -> GuestPlatform.of(junk));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains(junk.toString()), e.getMessage());
        assertThrows(SandboxException.class, () -> GuestPlatform.of(dir.resolve("missing")));
    }
}
