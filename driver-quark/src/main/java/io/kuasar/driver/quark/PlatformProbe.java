package io.kuasar.driver.quark;

import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.HostFiles;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Picks the gVisor platform by running {@code runsc do /bin/true} on each candidate: systrap first (the faster one,
 * runsc 2023 and later), then ptrace (every version). kvm is not tried: on a host whose /dev/kvm cannot run it,
 * runsc hangs instead of failing. Each probe boots a throw-away sandbox, about a quarter of a second.
 */
final class PlatformProbe {
    private static final Logger LOG = System.getLogger(PlatformProbe.class.getName());
    static final List<String> CANDIDATES = List.of("systrap", "ptrace");
    private static final long TIMEOUT_SECONDS = 15;

    private PlatformProbe() {
    }

    /**
     * The platform chosen before for this very runsc binary (same path, size and modification time), kept in
     * {@code scratch}: a driver upgrade or restart does not probe again (a quarter of a second of sandbox boot, on
     * the CPUs the successor recovers with); else {@link #choose}, remembered.
     */
    static String remembered(String runsc, Path scratch) {
        Path file = scratch.resolve("platform");
        String key = binaryKey(runsc);
        try {
            String[] kept = Files.readString(file).strip().split("\t");
            if (kept.length == 2 && kept[1].equals(key) && CANDIDATES.contains(kept[0])) {
                LOG.log(Level.DEBUG, "gVisor platform: " + kept[0] + " (probed before)");
                return kept[0];
            }
        } catch (IOException absent) {
            // not probed yet
        }
        String chosen = choose(runsc, scratch);
        try {
            AtomicFiles.writeAtomically(file, (chosen + "\t" + key + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "cannot remember the gVisor platform: " + e);
        }
        return chosen;
    }

    /** What identifies the runsc binary: its real path, size and modification time. */
    private static String binaryKey(String runsc) {
        try {
            Path bin = Path.of(runsc).isAbsolute() ? Path.of(runsc).toRealPath() : resolveOnPath(runsc).toRealPath();
            return bin + " " + Files.size(bin) + " " + Files.getLastModifiedTime(bin).toMillis();
        } catch (IOException | RuntimeException e) {
            return runsc + " ?";
        }
    }

    private static Path resolveOnPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return Path.of(name);
    }

    /** The first platform on which a sandbox boots; ptrace when none does (the error then shows at pod start). */
    static String choose(String runsc, Path scratch) {
        for (String platform : CANDIDATES) {
            if (works(runsc, platform, scratch)) {
                LOG.log(Level.INFO, "gVisor platform: " + platform);
                return platform;
            }
        }
        LOG.log(Level.WARNING, "no gVisor platform passed the probe; using ptrace");
        return "ptrace";
    }

    static boolean works(String runsc, String platform, Path scratch) {
        Path root = scratch.resolve("probe-" + platform);
        try {
            HostFiles.privateDir(root);
            // In a PID namespace of its own: what the probe sandbox leaves (platform stubs) dies with it instead
            // of being re-parented to this JVM as zombies nobody could attribute.
            Process p = new ProcessBuilder("unshare", "--pid", "--fork", "--mount-proc", runsc, "--root=" + root,
                    "--platform=" + platform, "--network=none", "do", "/bin/true")
                    .redirectInput(Commands.DEV_NULL).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).directory(scratch.toFile()).start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            try {
                if (Files.isDirectory(root)) {
                    HostFiles.deleteTree(root);
                }
            } catch (IOException ignored) {
                // a leftover probe root is harmless
            }
        }
    }
}
