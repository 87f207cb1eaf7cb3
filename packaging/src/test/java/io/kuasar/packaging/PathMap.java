package io.kuasar.packaging;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The package's absolute paths moved below a root, as if the package were installed there: what lets a test run
 * the unit's command line, or a maintainer script, from a {@code dpkg -x} tree without touching the host's /etc,
 * /run or /var. containerd's socket goes to the private containerd the test runs.
 */
final class PathMap {
    /** Every path of the package and of what it makes at run time; nothing else in its files is absolute. */
    static final List<String> PACKAGE_PATHS = List.of("/usr/lib/kuasar", "/usr/bin/kuasar", "/etc/kuasar",
            "/etc/containerd/conf.d", "/var/lib/kuasar", "/run/kuasar", "/lib/systemd/system/kuasar.service");
    static final String CONTAINERD_SOCKET = "/run/containerd/containerd.sock";

    private final Map<String, String> replacements = new LinkedHashMap<>();

    PathMap(Path root, Path containerdSocket) {
        for (String p : PACKAGE_PATHS) {
            replacements.put(p, root + p);
        }
        replacements.put(CONTAINERD_SOCKET, containerdSocket.toString());
    }

    /** {@code text} with every package path moved (a path is only replaced where a path of it starts). */
    String map(String text) {
        String out = text;
        for (Map.Entry<String, String> e : replacements.entrySet()) {
            out = out.replaceAll("(?<![\\w./-])" + java.util.regex.Pattern.quote(e.getKey()),
                    java.util.regex.Matcher.quoteReplacement(e.getValue()));
        }
        return out;
    }

    /** The package path {@code p} below the root. */
    Path path(String p) {
        return Path.of(map(p));
    }
}
