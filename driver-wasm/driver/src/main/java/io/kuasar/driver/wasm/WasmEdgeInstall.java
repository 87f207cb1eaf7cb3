package io.kuasar.driver.wasm;

import io.kuasar.spi.SandboxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * WasmEdge as scripts/deps.d/wasm.sh leaves it: trixie's debs unpacked under {@code <root>/root} (never installed:
 * they need glibc 2.41), run through the unpacked dynamic loader with the unpacked library directory.
 */
record WasmEdgeInstall(Path root) {
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

    List<String> command() {
        return List.of(loader().toString(), "--library-path", libraries().toString(), binary().toString());
    }

    void check() throws SandboxException {
        if (!Files.isExecutable(loader()) || !Files.isRegularFile(binary())) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "WasmEdge is not installed at "
                    + root + " (expected " + binary() + " and " + loader() + "): run scripts/install-deps.sh, or set"
                    + " the framework property kuasar.wasmedge.root");
        }
    }

    /** The framework property, else $KUASAR_WASMEDGE_ROOT, else $KUASAR_CACHE/wasmedge, else /opt/kuasar/wasmedge. */
    static WasmEdgeInstall locate(String property) {
        if (property != null && !property.isBlank()) {
            return new WasmEdgeInstall(Path.of(property.trim()));
        }
        String env = System.getenv("KUASAR_WASMEDGE_ROOT");
        if (env != null && !env.isBlank()) {
            return new WasmEdgeInstall(Path.of(env.trim()));
        }
        String cache = System.getenv("KUASAR_CACHE");
        if (cache != null && !cache.isBlank()) {
            return new WasmEdgeInstall(Path.of(cache.trim(), "wasmedge"));
        }
        return new WasmEdgeInstall(Path.of("/opt/kuasar/wasmedge"));
    }
}
