package io.kuasar.wasm.engine.internal.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Everything outside the confined root that a test owns (its temp dir but the root): a snapshot taken before the
 * test and compared after, entry by entry (type, link text, size, mtime, ctime, link count, mode, and atime of
 * files, set older than their mtime so that under relatime any read through an escape would move it; the snapshot
 * itself reads no file), and the identities (dev, ino) that no stat through the confined file system may return.
 */
final class Outside {
    static final String MARK = "HOST-SECRET";

    private final Path top;
    private final Path excluded;
    private final Set<Stat.Key> keys = new HashSet<>();
    private final Map<String, String> before;
    private boolean topMayChange;

    private Outside(Path top, Path excluded) throws IOException {
        this.top = top;
        this.excluded = excluded;
        this.before = snapshot();
    }

    /** Snapshot of {@code top} without {@code root} (the confined root lies inside it). */
    static Outside of(Path top, Path root) throws IOException {
        try (Stream<Path> s = Files.walk(top)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (!p.startsWith(root) && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    FileTime m = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                    Files.setAttribute(p, "lastAccessTime", FileTime.fromMillis(m.toMillis() - 3_600_000),
                            LinkOption.NOFOLLOW_LINKS);
                }
            }
        }
        return new Outside(top, root);
    }

    private Map<String, String> snapshot() throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(top)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.startsWith(excluded) && !p.equals(excluded)) {
                    continue;
                }
                Map<String, Object> a = Files.readAttributes(p, "unix:*", LinkOption.NOFOLLOW_LINKS);
                StringBuilder b = new StringBuilder();
                if (p.equals(excluded)) {
                    b.append("the root itself");
                } else {
                    keys.add(key(a));
                    b.append(" mtime=").append(a.get("lastModifiedTime")).append(" ctime=").append(a.get("ctime"))
                            .append(" nlink=").append(a.get("nlink")).append(" mode=").append(a.get("mode"));
                }
                if (Files.isSymbolicLink(p)) {
                    b.append(" -> ").append(Files.readSymbolicLink(p));
                } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    b.append(" atime=").append(a.get("lastAccessTime")).append(" size=").append(a.get("size"));
                }
                m.put(top.relativize(p).toString(), b.toString());
            }
        }
        return m;
    }

    /** The outside is exactly as it was (nothing read, written, linked, renamed, deleted or retimed). */
    void assertUntouched() throws IOException {
        Map<String, String> now = snapshot();
        if (topMayChange) {
            now.put("", before.get(""));
        }
        assertEquals(before, now, "nothing outside the root may change");
    }

    /** For a test that renames the root itself: the top directory's times change, by the test's own hand. */
    void allowTopChange() {
        topMayChange = true;
    }

    void assertNotOutside(Stat.Key key, String what) {
        assertFalse(keys.contains(key), what + " stat'ed a file outside the root: " + key);
    }

    static void assertNotSecret(byte[] data, String what) {
        assertFalse(new String(data, StandardCharsets.ISO_8859_1).contains(MARK), what + " read a host file");
    }

    static Stat.Key key(Map<String, Object> unixAttributes) {
        return new Stat.Key((Long) unixAttributes.get("dev"), (Long) unixAttributes.get("ino"));
    }
}
