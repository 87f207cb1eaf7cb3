package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.spi.SandboxException;
import io.kuasar.wasm.engine.fs.ContainerRoot;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads what a wasm container needs from containerd's OCI bundle, following the convention of runwasi and
 * Kuasar's wasm sandboxer: process.args[0] is a .wasm file in the rootfs (resolved against process.cwd when
 * relative), process.args the module's argv, process.env its WASI environment. The bind mounts of the spec
 * (volumes, /etc/hosts, ...) are mounted into the rootfs at their destination as runc mounts them, resolved inside
 * the container's root ({@link ContainerRoot}); the rootfs and every mounted directory become the module's
 * preopened directories. Everything is checked before anything is made: bad input is INVALID_ARGUMENT naming the
 * problem.
 */
final class OciBundle {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final byte[] WASM_MAGIC = {0, 'a', 's', 'm'};
    /** Kernel file systems CRI mounts for Linux containers: meaningless to a WASI module. */
    private static final Set<String> SKIPPED_PREFIXES = Set.of("/proc", "/sys", "/dev");

    /** A bind mount of the spec: guest destination, host source, directory or file, read-only or not. */
    record Volume(String destination, Path source, boolean directory, boolean readonly) {
    }

    /** The parsed bundle, before anything was mounted or looked up in the rootfs. */
    record Parsed(String arg0, String cwd, List<String> args, List<String> env, List<Volume> volumes,
                  boolean rootReadonly, long memoryLimit, String cgroupsPath) {
    }

    private OciBundle() {
    }

    static Parsed read(Path bundle) throws SandboxException {
        JsonNode spec = TaskSpecs.readConfig(bundle.resolve("config.json"), JSON);
        JsonNode process = spec.path("process");
        List<String> args = strings(process.path("args"));
        if (args.isEmpty() || args.get(0).isBlank()) {
            throw SandboxException.invalid("config.json of " + bundle + " has no process.args: a wasm container's"
                    + " entrypoint (or args[0]) must be the .wasm file to run");
        }
        List<Volume> volumes = new ArrayList<>();
        for (JsonNode m : spec.path("mounts")) {
            Volume v = volume(m);
            if (v != null) {
                volumes.add(v);
            }
        }
        long limit = spec.path("linux").path("resources").path("memory").path("limit").asLong(0);
        return new Parsed(args.get(0), process.path("cwd").asText("/"), args, strings(process.path("env")), volumes,
                spec.path("root").path("readonly").asBoolean(false), Math.max(0, limit),
                spec.path("linux").path("cgroupsPath").asText(""));
    }

    /**
     * args[0] as a regular file of the container's image: resolved inside the root (its links as the container
     * sees them), not under a mount (a volume's content is not the image's), holding a wasm module. Returns its
     * host path, read back from the kernel.
     */
    static Path module(ContainerRoot root, String arg0, String cwd, Collection<String> mountPoints)
            throws SandboxException {
        String guest = arg0.startsWith("/") ? arg0 : (cwd.endsWith("/") ? cwd : cwd + "/") + arg0;
        Path file;
        try {
            if (!Files.readAttributes(root.path(guest), BasicFileAttributes.class).isRegularFile()) {
                throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) is not a regular file in the"
                        + " container's image");
            }
            file = Path.of(root.hostPathOf(guest));
        } catch (NoSuchFileException e) {
            throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) is not in the container's image");
        } catch (IOException e) {
            throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) cannot be read: " + e.getMessage());
        }
        for (String m : mountPoints) {
            if (file.startsWith(m)) {
                throw SandboxException.invalid("the wasm module " + arg0 + " (args[0]) is on a mounted volume, not in"
                        + " the container's image");
            }
        }
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(root.path(guest))) {
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

    /** A bind mount of a directory or file; null for what a WASI module has no use for (/proc, /sys, /dev...). */
    private static Volume volume(JsonNode m) throws SandboxException {
        String rawDest = m.path("destination").asText("");
        String source = m.path("source").asText("");
        List<String> options = strings(m.path("options"));
        boolean bind = "bind".equals(m.path("type").asText("")) || options.contains("bind")
                || options.contains("rbind");
        if (!bind || !rawDest.startsWith("/") || source.isEmpty()) {
            return null;
        }
        if (rawDest.indexOf('\0') >= 0 || source.indexOf('\0') >= 0) {
            throw SandboxException.invalid("mount " + rawDest.replace("\0", "\\0") + ": a NUL byte in its path");
        }
        // Checked once normalized: "/." would otherwise mount a volume over the container's root, "/x/../proc" at /proc
        String dest = Path.of(rawDest).normalize().toString();
        if (dest.equals("/")) {
            throw SandboxException.invalid("mount " + rawDest + " would cover the container's root");
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
        if (!Files.exists(host)) {
            throw SandboxException.invalid("mount " + dest + ": its source " + source + " does not exist");
        }
        return new Volume(dest, host, Files.isDirectory(host), options.contains("ro"));
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array) {
            out.add(n.asText());
        }
        return out;
    }

    /**
     * The plan once the volumes are mounted: {@code mounted} maps each directory volume's destination to where
     * the kernel put it on the host (inside the rootfs).
     */
    static LaunchPlan plan(Parsed p, Path module, Path rootfs, Map<String, String> mounted) {
        Map<String, String> preopens = new LinkedHashMap<>();
        List<String> readonly = new ArrayList<>();
        preopens.put("/", rootfs.toString());
        if (p.rootReadonly()) {
            readonly.add("/");
        }
        for (Volume v : p.volumes()) {
            String host = mounted.get(v.destination());
            if (v.directory() && host != null) {
                preopens.put(v.destination(), host);
                if (v.readonly()) {
                    readonly.add(v.destination());
                }
            }
        }
        return new LaunchPlan(module.toString(), p.args(), p.env(), preopens, readonly, List.of(), p.memoryLimit(),
                p.cgroupsPath());
    }
}
