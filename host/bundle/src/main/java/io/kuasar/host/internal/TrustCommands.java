package io.kuasar.host.internal;

import io.kuasar.host.trust.TrustStore;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * {@code trust list|add CERT [ALIAS]|remove ALIAS|FINGERPRINT} and {@code inspect JAR}, for the admin socket and
 * gogo alike: the operator's view of the node's trusted signers and of a bundle before it is installed.
 */
final class TrustCommands {
    private static final Logger LOG = System.getLogger(TrustCommands.class.getName());

    private final TrustedBundles trusted;

    TrustCommands(TrustedBundles trusted) {
        this.trusted = trusted;
    }

    List<String> trust(List<String> args) throws IOException {
        TrustStore store = trusted.trust();
        String usage = "usage: trust list | trust add CERT [ALIAS] | trust remove ALIAS|FINGERPRINT";
        if (args.isEmpty()) {
            throw new IllegalArgumentException(usage);
        }
        switch (args.get(0)) {
            case "list": {
                List<String> lines = new ArrayList<>();
                lines.add("trust store: " + store.file());
                store.list().forEach(e -> lines.add(e.line()));
                return lines;
            }
            case "add": {
                if (args.size() < 2) {
                    throw new IllegalArgumentException(usage);
                }
                TrustStore.Entry e = store.add(Path.of(args.get(1)), args.size() > 2 ? args.get(2) : null);
                LOG.log(Level.INFO, "trust: {0} trusted as {1}", e.signer().describe(), e.alias());
                List<String> lines = new ArrayList<>(List.of("trusted: " + e.line()));
                if (e.signer().certificate().getNotAfter().before(new Date())) {
                    lines.add("note: this certificate has expired; bundles signed with it are still refused");
                }
                return lines;
            }
            case "remove": {
                if (args.size() != 2) {
                    throw new IllegalArgumentException(usage);
                }
                TrustStore.Entry e = store.remove(args.get(1));
                LOG.log(Level.INFO, "trust: {0} ({1}) no longer trusted", e.signer().describe(), e.alias());
                return List.of("removed: " + e.line(),
                        "installed bundles it signed keep running; their upgrades and reinstalls are refused");
            }
            default:
                throw new IllegalArgumentException(usage);
        }
    }

    List<String> inspect(String jar) throws IOException {
        return trusted.check().inspect(Path.of(jar.startsWith("file:") ? java.net.URI.create(jar).getPath() : jar));
    }
}
