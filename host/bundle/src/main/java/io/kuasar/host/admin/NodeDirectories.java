package io.kuasar.host.admin;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The node's start-up rule for its own places, the same as sshd's StrictModes: its state, run, config and drivers
 * directories, the directories of its sockets, its trust store, and every parent of them up to {@code /}, must be
 * owned by root or by the node's own user and not be writable by group or others; otherwise another local user could
 * plant a driver, a trust store or a socket. One exception, for parents only: a root-owned directory with the sticky
 * bit (such as {@code /tmp}, mode 1777) is accepted, since there nobody can rename or remove what is not theirs; the
 * node's directory below it must then itself pass (made by the node's user, 0700 or at least not group/other-writable).
 * A directory that does not exist yet is judged by the nearest existing parent (the node makes the rest 0700).
 * Symbolic links are followed, and each link must itself be owned by root or the node's user.
 *
 * <p>Also: a socket path another live process listens on means another node serves there. Plain Java: it runs
 * before the framework ({@link KuasarMain}).
 */
public final class NodeDirectories {
    private static final int GROUP_OR_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private NodeDirectories() {
    }

    /** The places the node will use, from its settings (system properties), with the node's defaults. */
    public static List<Path> places(Map<String, String> settings) {
        Set<Path> dirs = new LinkedHashSet<>();
        String state = value(settings, "kuasar.state.dir", "/var/lib/kuasar");
        String run = value(settings, "kuasar.run.dir", "/run/kuasar");
        String config = value(settings, "kuasar.config.dir", "/etc/kuasar");
        dirs.add(Path.of(state));
        dirs.add(Path.of(run));
        dirs.add(Path.of(config));
        dirs.add(Path.of(config, "trust.p12"));
        String drivers = settings.get("kuasar.drivers.dir");
        if (drivers != null && !drivers.isBlank()) {
            dirs.add(Path.of(drivers));
        }
        dirs.add(Path.of(value(settings, "kuasar.listen", "/run/kuasar/kuasar.sock")).toAbsolutePath().getParent());
        String admin = settings.get("kuasar.admin.socket");
        if (admin != null && !admin.isBlank()) {
            dirs.add(Path.of(admin).toAbsolutePath().getParent());
        }
        return new ArrayList<>(dirs);
    }

    /** Every finding, each naming its path; empty when the node may start. */
    public static List<String> problems(Map<String, String> settings, int selfUid) {
        List<String> problems = new ArrayList<>();
        for (Path p : places(settings)) {
            try {
                requireSafe(p, selfUid);
            } catch (IOException e) {
                problems.add(e.getMessage());
            }
        }
        for (String key : List.of("kuasar.listen", "kuasar.admin.socket")) {
            String socket = key.equals("kuasar.listen") ? value(settings, key, "/run/kuasar/kuasar.sock")
                    : settings.getOrDefault(key, Path.of(value(settings, "kuasar.run.dir", "/run/kuasar"), "admin.sock")
                    .toString());
            if (listening(Path.of(socket))) {
                problems.add("another node serves on " + socket + " (a live process accepts connections there);"
                        + " stop it first, or give this node other paths");
            }
        }
        return problems;
    }

    /** Refuses {@code path} (a directory or file, existing or to be made) when it or a parent may be changed by others. */
    public static void requireSafe(Path path, int selfUid) throws IOException {
        Path absolute = path.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        // Links on the way: each must be ours or root's, then the real path is checked from / down.
        for (Path p = existing; p != null; p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                requireOwner(p, uid(p), selfUid, "symbolic link");
            }
        }
        Path real = existing.toRealPath();
        List<Path> chain = new ArrayList<>();
        for (Path p = real; p != null; p = p.getParent()) {
            chain.add(0, p);
        }
        for (Path p : chain) {
            boolean leaf = p.equals(real) && existing.equals(absolute);
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            int owner = uid(p);
            requireOwner(p, owner, selfUid, Files.isDirectory(p) ? "directory" : "file");
            if ((mode & GROUP_OR_OTHER_WRITE) != 0 && !(owner == 0 && (mode & STICKY) != 0 && !leaf)) {
                String who = (mode & 0022) == 0022 ? "group and others" : (mode & 0020) != 0 ? "group" : "others";
                throw new IOException("refusing " + p + ": it is writable by " + who
                        + " (mode " + String.format("%04o", mode & 07777) + "), so another user could plant files"
                        + (p.equals(absolute) ? "" : " for " + absolute) + "; chmod go-w " + p);
            }
        }
    }

    private static void requireOwner(Path p, int owner, int selfUid, String what) throws IOException {
        if (owner != 0 && owner != selfUid) {
            throw new IOException("refusing " + p + ": this " + what + " is owned by uid " + owner
                    + ", neither root nor the node's user (uid " + selfUid + "), so that user could plant files there");
        }
    }

    private static int uid(Path p) throws IOException {
        try {
            return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw new IOException("refusing " + p + ": it vanished while being checked", e);
        }
    }

    /** Whether a process accepts connections on the socket {@code path} now. */
    public static boolean listening(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
            return true;
        } catch (ConnectException refused) {
            return false; // a socket file nobody listens on: stale
        } catch (IOException e) {
            return false;
        }
    }

    /** The process's effective uid: the owner of {@code /proc/self}. */
    public static int selfUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            return 0;
        }
    }

    private static String value(Map<String, String> settings, String key, String fallback) {
        String v = settings.get(key);
        return v == null || v.isBlank() ? fallback : v;
    }
}
