package io.kuasar.driver.wasm;

import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where WasmEdge is, in one of two layouts: as scripts/deps.d/wasm.sh leaves it, trixie's debs unpacked under
 * {@code <root>/root} (never installed: they need glibc 2.41), run through the unpacked dynamic loader with the
 * unpacked library directory; else Debian's own {@code wasmedge} package (trixie and later), {@code systemBinary}
 * run as it is. The unpacked tree wins: whoever unpacked it chose it.
 */
record WasmEdgeInstall(Path root, Path systemBinary) {
    static final Path DEBIAN_BINARY = Path.of("/usr/bin/wasmedge");

    Path tree() {
        return root.resolve("root");
    }

    Path loader() {
        return tree().resolve("usr/lib64/ld-linux-x86-64.so.2");
    }

    Path libraries() {
        return tree().resolve("usr/lib/x86_64-linux-gnu");
    }

    Path binary() {
        return tree().resolve("usr/bin/wasmedge");
    }

    private boolean unpacked() {
        return Files.isExecutable(loader()) && Files.isRegularFile(binary());
    }

    List<String> command() {
        if (!unpacked() && Files.isExecutable(systemBinary)) {
            return List.of(systemBinary.toString());
        }
        return List.of(loader().toString(), "--library-path", libraries().toString(), binary().toString());
    }

    void check() throws SandboxException {
        if (!unpacked() && !Files.isExecutable(systemBinary)) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "WasmEdge is not installed at "
                    + root + " (expected " + binary() + " and " + loader() + ") nor as " + systemBinary
                    + ": run scripts/install-deps.sh, set the framework property kuasar.wasmedge.root, or install"
                    + " Debian's wasmedge package (trixie and later)");
        }
    }

    /** The framework property, else $KUASAR_WASMEDGE_ROOT, else $KUASAR_CACHE/wasmedge, else /opt/kuasar/wasmedge. */
    static WasmEdgeInstall locate(String property) {
        if (property != null && !property.isBlank()) {
            return new WasmEdgeInstall(Path.of(property.trim()), DEBIAN_BINARY);
        }
        String env = System.getenv("KUASAR_WASMEDGE_ROOT");
        if (env != null && !env.isBlank()) {
            return new WasmEdgeInstall(Path.of(env.trim()), DEBIAN_BINARY);
        }
        String cache = System.getenv("KUASAR_CACHE");
        if (cache != null && !cache.isBlank()) {
            return new WasmEdgeInstall(Path.of(cache.trim(), "wasmedge"), DEBIAN_BINARY);
        }
        return new WasmEdgeInstall(Path.of("/opt/kuasar/wasmedge"), DEBIAN_BINARY);
    }
}
