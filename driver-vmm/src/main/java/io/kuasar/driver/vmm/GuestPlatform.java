package io.kuasar.driver.vmm;

import io.kuasar.spi.Platform;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The platform of a VM pod's containers: what its guest kernel was built for, read from the kernel image's boot
 * header, since the guest runs that kernel whatever the host is (QEMU can emulate another architecture). containerd's
 * CRI asks it at every container create and stats listing, to generate the container's spec and decode its stats.
 * An x86 bzImage carries "HdrS" at 0x202 and, from boot protocol 2.12, bit 0 of xloadflags (0x236) when the kernel
 * is 64-bit; arm64 and RISC-V Image files carry "ARM\x64" and "RSC\x05" at 0x38. The guest is Linux: the guest agent
 * is a Linux program.
 */
final class GuestPlatform {
    private static final int HEADER = 0x240;

    private GuestPlatform() {
    }

    static Platform of(Path kernel) throws SandboxException {
        byte[] h;
        try (InputStream in = Files.newInputStream(kernel)) {
            h = in.readNBytes(HEADER);
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "cannot read the guest kernel " + kernel + ": " + e.getMessage());
        }
        if (magic(h, 0x202, "HdrS")) {
            return new Platform("linux", h.length > 0x236 && (h[0x236] & 1) != 0 ? "amd64" : "386", "");
        }
        if (magic(h, 0x38, "ARM\u0064")) {
            return new Platform("linux", "arm64", "v8");
        }
        if (magic(h, 0x38, "RSC\u0005")) {
            return new Platform("linux", "riscv64", "");
        }
        throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "the guest kernel " + kernel
                + " is not an x86 bzImage nor an arm64 or RISC-V Image: its architecture is unknown");
    }

    private static boolean magic(byte[] h, int at, String text) {
        if (h.length < at + text.length()) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            if (h[at + i] != (byte) text.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
