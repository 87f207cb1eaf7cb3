package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * containerd 2.1 itself reads the package's drop-in through the {@code imports} line postinst tells the operator to
 * add: {@code containerd config dump} (which parses the config and its imports, starting nothing) then has every
 * kuasar handler with its sandboxer and every proxy plugin at the unit's socket; without the line, none of them.
 */
class ContainerdDropInTest {
    private static final Path REPO = Path.of(System.getProperty("kuasar.repo", "..")).toAbsolutePath().normalize();

    @Test
    void containerdLoadsTheDropInThroughImports(@TempDir Path dir) throws IOException {
        Path containerd = containerd();
        Assumptions.assumeTrue(Files.isExecutable(containerd),
                containerd + " is missing: scripts/install-deps.sh unpacks containerd 2.1 there");
        Path root = DebPackage.built().unpack(dir.resolve("r"));
        String imports = "imports = ['" + root.resolve("etc/containerd/conf.d") + "/*.toml']\n";

        String dump = dump(containerd, dir, "with.toml", imports);
        Map<String, String> handlers = runtimes(dump);
        assertEquals(Map.of("kuasar-runc", "runc", "kuasar-runsc", "runsc", "kuasar-quark", "quark",
                "kuasar-wasm", "wasm", "kuasar-wasmedge", "wasmedge", "kuasar-wasmtime", "wasmtime",
                "kuasar-vmm", "vmm"), handlers, dump);
        for (String sandboxer : handlers.values()) {
            assertTrue(Pattern.compile("\\[proxy_plugins\\." + sandboxer + "]\\s+type = 'sandbox'\\s+"
                    + "address = '/run/kuasar/kuasar.sock'").matcher(dump).find(), "proxy plugin " + sandboxer);
        }

        String without = dump(containerd, dir, "without.toml", "");
        assertEquals(Map.of(), runtimes(without), "without the imports line containerd has no kuasar handler");
        assertFalse(without.contains("/run/kuasar/kuasar.sock"), "nor any proxy plugin of the node");
    }

    private static String dump(Path containerd, Path dir, String name, String imports) throws IOException {
        Path config = dir.resolve(name);
        Files.writeString(config, "version = 3\nroot = '" + dir.resolve("root") + "'\nstate = '" + dir.resolve("state")
                + "'\n" + imports);
        return Run.of(containerd.toString(), "--config", config.toString(), "config", "dump").ok();
    }

    /** handler to sandboxer for every kuasar-* runtime of a dumped config. */
    private static Map<String, String> runtimes(String dump) {
        Map<String, String> out = new TreeMap<>();
        Matcher m = Pattern.compile("runtimes\\.(kuasar-[a-z]+)]((?:(?!\\n\\s*\\[).)*?)sandboxer = '([a-z]*)'", Pattern.DOTALL)
                .matcher(dump);
        while (m.find()) {
            out.put(m.group(1), m.group(3));
        }
        return out;
    }

    /** The containerd the scripts use: $KUASAR_CONTAINERD_PREFIX, else $KUASAR_CACHE or .cache, /containerd. */
    private static Path containerd() {
        Map<String, String> env = System.getenv();
        String cache = env.getOrDefault("KUASAR_CACHE", REPO.resolve(".cache").toString());
        String prefix = env.getOrDefault("KUASAR_CONTAINERD_PREFIX", Path.of(cache, "containerd").toString());
        return Path.of(prefix, "usr/bin/containerd");
    }
}
