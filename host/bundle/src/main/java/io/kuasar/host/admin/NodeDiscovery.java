package io.kuasar.host.admin;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the admin socket of the node on this host, for a command line given no {@code --admin-socket}. Named ones
 * win, in order: the system property {@code kuasar.admin.socket}, the environment variable {@code KUASAR_ADMIN_SOCKET},
 * {@code <kuasar.run.dir>/admin.sock} when that property is set. Otherwise the places a node is started at are tried,
 * and the first one a node answers on is taken: the project's scripts ({@code $KUASAR_NODE_DIR/kuasar/run/admin.sock},
 * node dir {@code /tmp/kuasar-node} by default) and the systemd unit ({@code /run/kuasar/admin.sock}). A socket whose
 * directory others could change ({@link NodeDirectories#requireSafe}) is never talked to: it could be anyone's.
 */
public final class NodeDiscovery {
    /** The project's scripts' node directory when {@code KUASAR_NODE_DIR} is not set (scripts/node-env.sh). */
    static final String SCRIPTS_NODE_DIR = "/tmp/kuasar-node";
    /** The systemd unit's (RuntimeDirectory=kuasar). */
    static final String UNIT_SOCKET = "/run/kuasar/admin.sock";

    /** The socket to use, or why none: {@code problem} lists where it looked. */
    public record Found(Path socket, String problem) {
    }

    private NodeDiscovery() {
    }

    /** The socket named by settings or environment, else the first place a node answers on. */
    public static Found find(Map<String, String> properties, Map<String, String> environment, int selfUid) {
        return find(properties, environment, selfUid, Path.of(UNIT_SOCKET));
    }

    /** As above, with the unit's socket elsewhere (tests: a host may run the unit). */
    static Found find(Map<String, String> properties, Map<String, String> environment, int selfUid, Path unitSocket) {
        String named = named(properties, environment);
        if (named != null) {
            return new Found(Path.of(named), null);
        }
        Map<Path, String> looked = new LinkedHashMap<>();
        for (Path candidate : candidates(environment, unitSocket)) {
            String why = whyNot(candidate, selfUid);
            if (why == null) {
                return new Found(candidate, null);
            }
            looked.put(candidate, why);
        }
        List<String> lines = new ArrayList<>();
        looked.forEach((p, why) -> lines.add(p + " (" + why + ")"));
        return new Found(null, "no node answers on its admin socket; looked at: " + String.join(", ", lines)
                + ". Start one (scripts/kuasar-up.sh, or systemctl start kuasar), or name its socket: "
                + AdminClient.SOCKET_OPTION + " PATH or KUASAR_ADMIN_SOCKET=PATH");
    }

    /** An explicit choice: {@code kuasar.admin.socket}, {@code KUASAR_ADMIN_SOCKET}, {@code <kuasar.run.dir>/admin.sock}. */
    static String named(Map<String, String> properties, Map<String, String> environment) {
        String p = properties.get("kuasar.admin.socket");
        if (p != null && !p.isBlank()) {
            return p;
        }
        String e = environment.get("KUASAR_ADMIN_SOCKET");
        if (e != null && !e.isBlank()) {
            return e;
        }
        String run = properties.get("kuasar.run.dir");
        return run == null || run.isBlank() ? null : Path.of(run).resolve("admin.sock").toString();
    }

    /** The scripts' node first (a developer's host may also run the unit), then the unit's. */
    static List<Path> candidates(Map<String, String> environment, Path unitSocket) {
        String nodeDir = environment.get("KUASAR_NODE_DIR");
        nodeDir = nodeDir == null || nodeDir.isBlank() ? SCRIPTS_NODE_DIR : nodeDir;
        List<Path> all = new ArrayList<>(List.of(Path.of(nodeDir, "kuasar", "run", "admin.sock"), unitSocket));
        return all.stream().distinct().toList();
    }

    /** Why {@code socket} is not the node's to talk to; null when it is. */
    static String whyNot(Path socket, int selfUid) {
        if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
            return "no such socket";
        }
        try {
            NodeDirectories.requireSafe(socket.getParent(), selfUid);
        } catch (IOException e) {
            return "not used: " + e.getMessage();
        }
        return NodeDirectories.listening(socket) ? null : "nobody listens on it";
    }
}
