package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * postinst and postrm as dpkg runs them, with the host kept out of reach: inside a private mount namespace
 * ({@code unshare -m}) whose systemd directories, /run and /var/lib are empty tmpfs, and so are /etc/kuasar and
 * /etc/containerd where the host has them. The package's unit is the only one systemd's helpers see. (prerm,
 * which needs a running node, is run by UnitNodeTest.)
 */
class MaintainerScriptsTest {
    /** Sets up the namespace, then runs "$@"; prints what the scripts left, one path a line, after "--- left". */
    private static final String SANDBOX = """
            set -e
            mount --make-rprivate /
            for d in /etc/systemd/system /lib/systemd/system /run /var/lib /etc/kuasar /etc/containerd; do
              if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 none "$d"; fi
            done
            mkdir -p /var/lib/systemd /var/lib/kuasar/state/runc /var/lib/kuasar/drivers
            echo x >/var/lib/kuasar/state/runc/left-by-the-node
            cp "$UNIT" /lib/systemd/system/kuasar.service
            "$@"
            echo "--- left"
            find /etc/systemd/system /var/lib/systemd /var/lib/kuasar 2>/dev/null || true   # a purged one is gone
            """;

    @Test
    void postinstEnablesTheUnitAndAsksForTheImportsLineAndPurgeUndoesIt(@TempDir Path dir) throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (a private mount namespace)");
        Assumptions.assumeTrue(Run.has("unshare") && Run.has("deb-systemd-helper"),
                "needs unshare (util-linux) and deb-systemd-helper (init-system-helpers)");
        DebPackage deb = DebPackage.built();
        Path root = deb.unpack(dir.resolve("r"));
        Path control = deb.controlFiles(dir.resolve("control"));
        Map<String, String> env = Map.of("UNIT", root.resolve("lib/systemd/system/kuasar.service").toString(),
                "DPKG_MAINTSCRIPT_PACKAGE", "kuasar", "DPKG_MAINTSCRIPT_NAME", "postinst");

        Run installed = Run.of(env, null, "unshare", "-m", "sh", "-c", SANDBOX, "sandbox",
                control.resolve("postinst").toString(), "configure", "");
        assertEquals(0, installed.exit(), installed.output());
        String said = installed.output().split("--- left")[0];
        assertTrue(said.contains("imports = ['/etc/containerd/conf.d/*.toml']"),
                "postinst says how containerd loads the drop-in: " + said);
        String left = installed.output().split("--- left")[1];
        assertTrue(left.contains("/etc/systemd/system/multi-user.target.wants/kuasar.service"), "enabled:\n" + left);

        Run purged = Run.of(Map.of("UNIT", env.get("UNIT"), "DPKG_MAINTSCRIPT_PACKAGE", "kuasar",
                        "DPKG_MAINTSCRIPT_NAME", "postrm"), null, "unshare", "-m", "sh", "-c",
                SANDBOX.replace("\"$@\"", "\"$1\" configure '' >/dev/null\nDPKG_MAINTSCRIPT_NAME=postrm \"$2\" purge"),
                "sandbox", control.resolve("postinst").toString(), control.resolve("postrm").toString());
        assertEquals(0, purged.exit(), purged.output());
        String after = purged.output().split("--- left")[1];
        assertTrue(!after.contains("kuasar.service") && !after.contains("/var/lib/kuasar"),
                "purge removes the enablement and the node's state:\n" + after);
    }
}
