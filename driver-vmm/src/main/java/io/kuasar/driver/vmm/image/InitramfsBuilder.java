package io.kuasar.driver.vmm.image;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Writes the guest's initramfs: a cpio "newc" archive, reproducible (entries sorted by path, owner 0, mtime 0,
 * inode numbers in order), from a spec of lines:
 * <pre>
 *   file DEST SRC        a regular file (symlinks in SRC followed), mode taken from SRC (0755 or 0644)
 *   link DEST TARGET     a symbolic link
 *   dir DEST             a directory (parents of every entry are added anyway)
 *   dev DEST MAJOR MINOR a character device (the kernel wants dev/console before init runs)
 *   modules DIR NAME...  kernel modules NAME and everything they depend on, found under DIR by the "depends="
 *                        of their .modinfo, stored as lib/modules/NAME.ko and listed in dependency order in
 *                        etc/kuasar/modules for the agent to load
 * </pre>
 * Self-contained (JDK only) so that scripts/images.d/vmm-guest.sh runs it as a single source file before any
 * Maven build: {@code java InitramfsBuilder.java SPEC OUT}.
 */
public final class InitramfsBuilder {
    static final String MODULE_LIST = "etc/kuasar/modules";
    private static final int S_IFDIR = 0040000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFLNK = 0120000;
    private static final int S_IFCHR = 0020000;

    /** One archive member; data is the file content or the link target. */
    record Entry(String path, int mode, byte[] data, int rdevMajor, int rdevMinor) {
    }

    private final Map<String, Entry> entries = new TreeMap<>();

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java InitramfsBuilder.java SPEC OUT");
            System.exit(2);
        }
        InitramfsBuilder b = new InitramfsBuilder();
        b.readSpec(Files.readAllLines(Path.of(args[0])));
        Path out = Path.of(args[1]);
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        try (OutputStream o = Files.newOutputStream(tmp)) {
            b.write(o);
        }
        Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    void readSpec(List<String> lines) throws IOException {
        int n = 0;
        for (String raw : lines) {
            n++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] w = line.split("\\s+");
            switch (w[0]) {
                case "file" -> need(w, 3, n, line).file(w[1], Path.of(w[2]));
                case "link" -> need(w, 3, n, line).link(w[1], w[2]);
                case "dir" -> need(w, 2, n, line).dir(w[1]);
                case "dev" -> need(w, 4, n, line).charDevice(w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                case "modules" -> need(w, 3, n, line).modules(Path.of(w[1]), List.of(w).subList(2, w.length));
                default -> throw new IllegalArgumentException("spec line " + n + ": unknown kind " + w[0]);
            }
        }
    }

    private InitramfsBuilder need(String[] words, int count, int lineNo, String line) {
        if (words.length < count) {
            throw new IllegalArgumentException("spec line " + lineNo + " needs " + count + " words: " + line);
        }
        return this;
    }

    private static String clean(String dest) {
        String p = dest.replaceAll("^/+", "").replaceAll("/+$", "");
        if (p.isEmpty() || p.equals("..") || p.startsWith("../") || p.contains("/../")) {
            throw new IllegalArgumentException("bad archive path " + dest);
        }
        return p;
    }

    private void put(String dest, int mode, byte[] data, int major, int minor) {
        String p = clean(dest);
        for (int i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
            entries.putIfAbsent(p.substring(0, i), new Entry(p.substring(0, i), S_IFDIR | 0755, new byte[0], 0, 0));
        }
        entries.put(p, new Entry(p, mode, data, major, minor));
    }

    void file(String dest, Path src) throws IOException {
        clean(dest); // refuse a bad path before reading anything
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(src);
        put(dest, S_IFREG | (perms.contains(PosixFilePermission.OWNER_EXECUTE) ? 0755 : 0644), Files.readAllBytes(src), 0, 0);
    }

    void bytes(String dest, byte[] content, int perm) {
        put(dest, S_IFREG | perm, content, 0, 0);
    }

    void link(String dest, String target) {
        put(dest, S_IFLNK | 0777, target.getBytes(StandardCharsets.UTF_8), 0, 0);
    }

    void dir(String dest) {
        put(dest, S_IFDIR | 0755, new byte[0], 0, 0);
    }

    void charDevice(String dest, int major, int minor) {
        put(dest, S_IFCHR | 0600, new byte[0], major, minor);
    }

    /** Adds the modules and their dependencies; the list file names them in an order that loads. */
    void modules(Path dir, List<String> wanted) throws IOException {
        Map<String, Path> byName = new HashMap<>();
        try (Stream<Path> all = Files.walk(dir)) {
            all.filter(p -> p.getFileName().toString().endsWith(".ko"))
                    .forEach(p -> byName.putIfAbsent(moduleName(p.getFileName().toString()), p));
        }
        LinkedHashSet<String> ordered = new LinkedHashSet<>();
        for (String w : wanted) {
            visit(moduleName(w), byName, ordered, new LinkedHashSet<>());
        }
        StringBuilder list = new StringBuilder();
        for (String m : ordered) {
            bytes("lib/modules/" + m + ".ko", Files.readAllBytes(byName.get(m)), 0644);
            list.append("/lib/modules/").append(m).append(".ko\n");
        }
        bytes(MODULE_LIST, list.toString().getBytes(StandardCharsets.UTF_8), 0644);
    }

    private static void visit(String name, Map<String, Path> byName, Set<String> done, Set<String> path)
            throws IOException {
        if (done.contains(name)) {
            return;
        }
        Path file = byName.get(name);
        if (file == null) {
            throw new IllegalArgumentException("module " + name + " not found");
        }
        if (!path.add(name)) {
            throw new IllegalArgumentException("module dependency cycle through " + path);
        }
        for (String dep : dependsOf(Files.readAllBytes(file))) {
            visit(moduleName(dep), byName, done, path);
        }
        path.remove(name);
        done.add(name);
    }

    /** The "depends=a,b" string of a module's .modinfo section (NUL-separated key=value strings). */
    static List<String> dependsOf(byte[] ko) {
        byte[] key = "depends=".getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + key.length <= ko.length; i++) {
            if (i > 0 && ko[i - 1] != 0) {
                continue;
            }
            for (int k = 0; k < key.length; k++) {
                if (ko[i + k] != key[k]) {
                    continue outer;
                }
            }
            int end = i + key.length;
            while (end < ko.length && ko[end] != 0) {
                end++;
            }
            String v = new String(ko, i + key.length, end - i - key.length, StandardCharsets.US_ASCII);
            List<String> out = new ArrayList<>();
            for (String d : v.split(",")) {
                if (!d.isBlank()) {
                    out.add(d.strip());
                }
            }
            return out;
        }
        return List.of();
    }

    /** The kernel treats '-' and '_' in module names alike. */
    static String moduleName(String fileOrName) {
        return fileOrName.replaceAll("\\.ko(\\.[a-z]+)?$", "").replace('-', '_');
    }

    void write(OutputStream out) throws IOException {
        int ino = 1;
        for (Entry e : entries.values()) {
            header(out, ino++, e.mode(), e.data().length, e.rdevMajor(), e.rdevMinor(), e.path());
            out.write(e.data());
            pad(out, e.data().length);
        }
        header(out, 0, 0, 0, 0, 0, "TRAILER!!!");
    }

    private static void header(OutputStream out, int ino, int mode, int size, int rmaj, int rmin, String name)
            throws IOException {
        byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
        int nlink = (mode & 0170000) == S_IFDIR ? 2 : 1;
        StringBuilder h = new StringBuilder("070701");
        for (int f : new int[] {ino, mode, 0, 0, name.equals("TRAILER!!!") ? 1 : nlink, 0, size, 0, 0, rmaj, rmin,
                n.length, 0}) {
            h.append(String.format("%08x", f));
        }
        byte[] hb = h.toString().getBytes(StandardCharsets.US_ASCII);
        out.write(hb);
        out.write(n);
        pad(out, hb.length + n.length);
    }

    private static void pad(OutputStream out, int len) throws IOException {
        out.write(new byte[(4 - len % 4) % 4]);
    }

    /** The archive in memory, for tests. */
    byte[] toBytes() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        write(b);
        return b.toByteArray();
    }
}
