package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a handler needs on the host (binaries, the VM guest image), checked before a test uses it. The project's
 * scripts install all of it on every machine of this kind, so in CI ({@code CI=true}) something missing is a broken
 * set-up and fails the test, naming it; elsewhere (a developer's machine) the test is skipped with that name.
 */
public final class HostTools {
    /** Directories searched after PATH: root's tools live there, and a test JVM's PATH may lack them. */
    private static final List<String> SBIN = List.of("/usr/sbin", "/sbin");

    private HostTools() {
    }

    /** The executable {@code name} on PATH, else in /usr/sbin or /sbin. */
    public static Optional<Path> find(String name) {
        List<String> dirs = new ArrayList<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(File.pathSeparator)));
        }
        dirs.addAll(SBIN);
        for (String dir : dirs) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The executable {@code name} (see {@link #find}); fails in CI, skips elsewhere, when it is missing. */
    public static Path requireBinary(String name, String neededFor) {
        Optional<Path> p = find(name);
        require(p.isPresent(), name + " is not on PATH (nor in /usr/sbin, /sbin); " + neededFor + " needs it");
        return p.orElseThrow();
    }

    /**
     * What handler {@code handler} runs on: {@code runsc} for kuasar-runsc, {@code qemu-system-x86_64} and the
     * guest image for kuasar-vmm, {@code runc} for runc and kuasar-runc. Other handlers need nothing checked here.
     */
    public static void requireHandler(String handler) {
        switch (handler) {
            case "runc", "kuasar-runc" -> requireBinary("runc", "handler " + handler);
            case "kuasar-runsc" -> requireBinary("runsc", "handler " + handler);
            case "kuasar-vmm" -> {
                requireBinary("qemu-system-x86_64", "handler " + handler);
                Path guest = guestImageDir();
                for (String f : List.of("vmlinuz", "initrd.img")) {
                    require(Files.isRegularFile(guest.resolve(f)), "the VM guest image lacks " + guest.resolve(f)
                            + " (scripts/build-images.sh builds it); handler " + handler + " needs it");
                }
            }
            default -> {
                // nothing on the host to check for this handler
            }
        }
    }

    /** Where the node's vmm driver finds the guest (KUASAR_CACHE, else the repository's .cache, as node-env.sh). */
    static Path guestImageDir() {
        String cache = System.getenv("KUASAR_CACHE");
        Path root = cache == null || cache.isBlank() ? NodeEnv.fromEnvironment().repo().resolve(".cache") : Path.of(cache);
        return root.resolve("vmm/guest");
    }

    /**
     * The first line of a /proc file, stripped. Not Files.readString: it reads such a file (size 0) one byte first,
     * and a numeric sysctl (proc_dointvec) answers a read at a non-zero offset with end of file, so "1024" reads
     * as "1". A buffered reader asks for the whole value at once.
     */
    static String procLine(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return lines.isEmpty() ? "" : lines.get(0).strip();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file, e);
        }
    }

    /** True when running in CI, where the scripts have installed everything a test needs. */
    static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** {@code present}, else a failure (CI) or a skip (elsewhere) with {@code message}. */
    static void require(boolean present, String message) {
        require(present, message, inCi());
    }

    static void require(boolean present, String message, boolean ci) {
        if (present) {
            return;
        }
        if (ci) {
            fail(message + " (CI=true: the project's scripts must install it)");
        }
        assumeTrue(false, message);
    }
}
