package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The two layouts WasmEdge is run from: the unpacked trixie tree (scripts, /opt/kuasar/wasmedge) and Debian's package. */
class WasmEdgeInstallTest {
    @TempDir
    Path dir;

    @Test
    void anUnpackedTreeRunsThroughItsOwnLoaderEvenBesideDebiansPackage() throws Exception {
        WasmEdgeInstall install = new WasmEdgeInstall(dir.resolve("opt"), executable(dir.resolve("usr/bin/wasmedge")));
        executable(install.loader());
        executable(install.binary());
        install.check();
        assertEquals(List.of(install.loader().toString(), "--library-path", install.libraries().toString(),
                install.binary().toString()), install.command());
    }

    @Test
    void withoutAnUnpackedTreeDebiansPackageRunsAsItIs() throws Exception {
        Path system = executable(dir.resolve("usr/bin/wasmedge"));
        WasmEdgeInstall install = new WasmEdgeInstall(dir.resolve("opt"), system);
        install.check();
        assertEquals(List.of(system.toString()), install.command());
    }

    @Test
    void withNeitherTheErrorNamesBothPlacesAndHowToFillOne() {
        WasmEdgeInstall install = new WasmEdgeInstall(dir.resolve("opt"), dir.resolve("usr/bin/wasmedge"));
        SandboxException e = assertThrows(SandboxException.class, install::check);
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertTrue(e.getMessage().contains(dir.resolve("opt").toString())
                && e.getMessage().contains(dir.resolve("usr/bin/wasmedge").toString())
                && e.getMessage().contains("wasmedge package"), e.getMessage());
    }

    private static Path executable(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        Files.writeString(file, "#!/bin/sh\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }
}
