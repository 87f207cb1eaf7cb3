package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads what a wasm container needs from containerd's OCI bundle, following the convention of runwasi and
 * Kuasar's wasm sandboxer: process.args[0] is a .wasm file in the rootfs (resolved against process.cwd when
 * relative), process.args the module's argv, process.env its WASI environment, the rootfs and every bind mount of
 * a directory its preopened directories (read-only where the spec says so). Everything is checked before anything
 * is made: bad input is INVALID_ARGUMENT naming the problem.
 */
final class OciBundle {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] WASM_MAGIC = {0, 'a', 's', 'm'};
    /** Kernel file systems CRI mounts for Linux containers: meaningless to a WASI module. */
    private static final Set<String> SKIPPED_PREFIXES = Set.of("/proc", "/sys", "/dev");

    /** A directory the module sees: guest path, host directory, read-only or not. */
    record Preopen(String guest, Path host, boolean readonly) {
    }

    /** The parsed bundle: plan without the driver's read-only bind mounts yet. */
    record Parsed(Path module, List<String> args, List<String> env, List<Preopen> preopens, long memoryLimit,
                  String cgroupsPath) {
    }

    private OciBundle() {
    }

    static Parsed read(Path bundle, Path rootfs) throws SandboxException {
        JsonNode spec;
        try {
            spec = JSON.readTree(bundle.resolve("config.json").toFile());
        } catch (IOException e) {
            throw SandboxException.invalid("bundle " + bundle + " has no readable config.json: " + e.getMessage());
        }
        JsonNode process = spec.path("process");
        if (process.path("terminal").asBoolean(false)) {
            throw new SandboxException(SandboxException.Code.UNIMPLEMENTED,
                    "terminal (tty) wasm containers are not supported: WASI modules get plain stdio");
        }
        List<String> args = strings(process.path("args"));
        if (args.isEmpty() || args.get(0).isBlank()) {
            throw SandboxException.invalid("config.json of " + bundle + " has no process.args: a wasm container's"
                    + " entrypoint (or args[0]) must be the .wasm file to run");
        }
        String cwd = process.path("cwd").asText("/");
        Path module = module(rootfs, args.get(0), cwd);
        List<Preopen> preopens = new ArrayList<>();
        preopens.add(new Preopen("/", rootfs, spec.path("root").path("readonly").asBoolean(false)));
        for (JsonNode m : spec.path("mounts")) {
            Preopen p = preopen(m);
            if (p != null) {
                preopens.add(p);
            }
        }
        long limit = spec.path("linux").path("resources").path("memory").path("limit").asLong(0);
        return new Parsed(module, args, strings(process.path("env")), preopens, Math.max(0, limit),
                spec.path("linux").path("cgroupsPath").asText(""));
    }

    /** args[0] as a regular file inside the rootfs (symlinks resolved, never outside it) holding a wasm module. */
    static Path module(Path rootfs, String arg0, String cwd) throws SandboxException {
        String guest = arg0.startsWith("/") ? arg0 : (cwd.endsWith("/") ? cwd : cwd + "/") + arg0;
        Path file;
        Path root;
        try {
            root = rootfs.toRealPath();
            Path candidate = root.resolve(guest.substring(1)).normalize();
            if (!candidate.startsWith(root) || !Files.exists(candidate)) {
                throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) is not in the container's image");
            }
            file = candidate.toRealPath();
        } catch (IOException e) {
            throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) cannot be read: " + e.getMessage());
        }
        if (!file.startsWith(root) || !Files.isRegularFile(file)) {
            throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) is not a regular file in the"
                    + " container's image");
        }
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 4);
        } catch (IOException e) {
            throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) cannot be read: " + e.getMessage());
        }
        if (n < 4 || !Arrays.equals(head, WASM_MAGIC)) {
            throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) is not a WebAssembly module"
                    + " (no \\0asm header): a wasm container's entrypoint must be a .wasm file");
        }
        return file;
    }

    /** A bind mount of a directory as a preopen; null for what a WASI module cannot use. */
    private static Preopen preopen(JsonNode m) throws SandboxException {
        String dest = m.path("destination").asText("");
        String source = m.path("source").asText("");
        List<String> options = strings(m.path("options"));
        boolean bind = "bind".equals(m.path("type").asText("")) || options.contains("bind")
                || options.contains("rbind");
        if (!bind || !dest.startsWith("/") || dest.equals("/") || source.isEmpty()) {
            return null;
        }
        for (String skipped : SKIPPED_PREFIXES) {
            if (dest.equals(skipped) || dest.startsWith(skipped + "/")) {
                return null;
            }
        }
        Path host = Path.of(source);
        if (!host.isAbsolute()) {
            throw SandboxException.invalid("mount " + dest + " has a relative source " + source);
        }
        if (!Files.isDirectory(host)) {
            return null; // files (/etc/hosts, /etc/resolv.conf, ...): WASI preopens are directories
        }
        return new Preopen(Path.of(dest).normalize().toString(), host, options.contains("ro"));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array) {
            out.add(n.asText());
        }
        return out;
    }

    /** The plan once read-only preopens were given their bind mounts ({@code roBinds}: guest path to mount). */
    static LaunchPlan plan(Parsed p, Map<String, Path> roBinds) {
        Map<String, String> preopens = new LinkedHashMap<>();
        List<String> readonly = new ArrayList<>();
        for (Preopen o : p.preopens()) {
            Path host = roBinds.getOrDefault(o.guest(), o.host());
            preopens.put(o.guest(), host.toString());
            if (o.readonly()) {
                readonly.add(o.guest());
            }
        }
        List<String> binds = new ArrayList<>();
        roBinds.values().forEach(b -> binds.add(b.toString()));
        return new LaunchPlan(p.module().toString(), p.args(), p.env(), preopens, readonly, binds, p.memoryLimit(),
                p.cgroupsPath());
    }
}
