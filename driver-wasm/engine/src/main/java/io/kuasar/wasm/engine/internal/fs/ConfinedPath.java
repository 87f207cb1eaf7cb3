package io.kuasar.wasm.engine.internal.fs;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A path of a {@link ConfinedFileSystem}: a plain string in the container's view ("/" is the confined root), with
 * the syntax of the JDK's Unix paths (redundant slashes dropped, no trailing slash, "" the empty path) because
 * Chicory builds and checks paths with getPath, normalize, resolve and toString. Purely lexical: nothing here
 * touches the disk, and nothing here is trusted for containment, which the provider leaves to the kernel. A
 * relative path is taken relative to the root (the confined file system's working directory is its root).
 */
final class ConfinedPath implements Path {
    private final ConfinedFileSystem fs;
    private final String path;
    private volatile String[] names;

    ConfinedPath(ConfinedFileSystem fs, String input) {
        if (input.indexOf('\0') >= 0) {
            throw new InvalidPathException(input, "Nul character not allowed");
        }
        this.fs = fs;
        this.path = clean(input);
    }

    private static String clean(String s) {
        StringBuilder b = new StringBuilder(s.length());
        char prev = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '/' && prev == '/') {
                continue;
            }
            b.append(c);
            prev = c;
        }
        if (b.length() > 1 && b.charAt(b.length() - 1) == '/') {
            b.setLength(b.length() - 1);
        }
        return b.toString();
    }

    private String[] names() {
        String[] n = names;
        if (n == null) {
            String body = isAbsolute() ? path.substring(1) : path;
            n = body.isEmpty() ? (isAbsolute() ? new String[0] : new String[] {""}) : body.split("/");
            names = n;
        }
        return n;
    }

    /** What the resolver walks: the path relative to the confined root ("." for the root itself). */
    String rel() {
        String body = isAbsolute() ? path.substring(1) : path;
        return body.isEmpty() ? "." : body;
    }

    static ConfinedPath of(Path p) {
        if (!(p instanceof ConfinedPath)) {
            throw new ProviderMismatchException("not a path of a confined WASI file system: " + p);
        }
        return (ConfinedPath) p;
    }

    private ConfinedPath make(String s) {
        return new ConfinedPath(fs, s);
    }

    private ConfinedPath join(boolean absolute, List<String> parts) {
        return make((absolute ? "/" : "") + String.join("/", parts));
    }

    @Override
    public ConfinedFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return path.startsWith("/");
    }

    @Override
    public Path getRoot() {
        return isAbsolute() ? make("/") : null;
    }

    @Override
    public Path getFileName() {
        String[] n = names();
        if (n.length == 0) {
            return null;
        }
        return n.length == 1 && !isAbsolute() ? this : make(n[n.length - 1]);
    }

    @Override
    public Path getParent() {
        String[] n = names();
        if (n.length == 0 || (n.length == 1 && !isAbsolute())) {
            return null;
        }
        int slash = path.lastIndexOf('/');
        return slash == 0 ? make("/") : make(path.substring(0, slash));
    }

    @Override
    public int getNameCount() {
        return names().length;
    }

    @Override
    public Path getName(int index) {
        String[] n = names();
        if (index < 0 || index >= n.length) {
            throw new IllegalArgumentException("index " + index);
        }
        return make(n[index]);
    }

    @Override
    public Path subpath(int begin, int end) {
        String[] n = names();
        if (begin < 0 || begin >= n.length || end > n.length || begin >= end) {
            throw new IllegalArgumentException(begin + ".." + end);
        }
        return join(false, Arrays.asList(n).subList(begin, end));
    }

    @Override
    public boolean startsWith(Path other) {
        if (!(other instanceof ConfinedPath) || ((ConfinedPath) other).fs != fs) {
            return false;
        }
        ConfinedPath o = (ConfinedPath) other;
        if (o.isAbsolute() != isAbsolute()) {
            return false;
        }
        if (o.path.isEmpty()) {
            return path.isEmpty();
        }
        String[] a = names();
        String[] b = o.names();
        if (b.length > a.length) {
            return false;
        }
        return Arrays.equals(a, 0, b.length, b, 0, b.length);
    }

    @Override
    public boolean endsWith(Path other) {
        if (!(other instanceof ConfinedPath) || ((ConfinedPath) other).fs != fs) {
            return false;
        }
        ConfinedPath o = (ConfinedPath) other;
        if (o.isAbsolute()) {
            return o.path.equals(path);
        }
        if (o.path.isEmpty()) {
            return path.isEmpty();
        }
        String[] a = names();
        String[] b = o.names();
        if (b.length > a.length) {
            return false;
        }
        return Arrays.equals(a, a.length - b.length, a.length, b, 0, b.length);
    }

    /** Lexical, as the JDK's: drops ".", folds "name/.."; keeps leading ".." of a relative path, not of "/". */
    @Override
    public Path normalize() {
        List<String> out = new ArrayList<>();
        for (String n : names()) {
            if (n.equals(".") || n.isEmpty()) {
                continue;
            }
            if (n.equals("..")) {
                if (!out.isEmpty() && !out.get(out.size() - 1).equals("..")) {
                    out.remove(out.size() - 1);
                    continue;
                }
                if (isAbsolute()) {
                    continue;
                }
            }
            out.add(n);
        }
        return join(isAbsolute(), out);
    }

    @Override
    public Path resolve(Path other) {
        ConfinedPath o = of(other);
        if (o.isAbsolute()) {
            return o;
        }
        if (o.path.isEmpty()) {
            return this;
        }
        if (path.isEmpty()) {
            return o;
        }
        return make(path.equals("/") ? "/" + o.path : path + "/" + o.path);
    }

    @Override
    public Path relativize(Path other) {
        ConfinedPath o = of(other);
        if (o.isAbsolute() != isAbsolute()) {
            throw new IllegalArgumentException("'other' is different type of Path");
        }
        if (o.path.equals(path)) {
            return make("");
        }
        List<String> a = path.isEmpty() ? List.of() : Arrays.asList(names());
        List<String> b = o.path.isEmpty() ? List.of() : Arrays.asList(o.names());
        int common = 0;
        while (common < a.size() && common < b.size() && a.get(common).equals(b.get(common))) {
            common++;
        }
        List<String> out = new ArrayList<>();
        for (int i = common; i < a.size(); i++) {
            out.add("..");
        }
        out.addAll(b.subList(common, b.size()));
        return join(false, out);
    }

    @Override
    public URI toUri() {
        try {
            return new URI(ConfinedProvider.SCHEME, null, toAbsolutePath().toString(), null);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Path toAbsolutePath() {
        return isAbsolute() ? this : make("/" + path);
    }

    /**
     * Not offered: a real path would have to be computed by name, which is what this file system exists to avoid;
     * every operation resolves in the root by itself.
     */
    @Override
    public Path toRealPath(LinkOption... options) {
        throw new UnsupportedOperationException("toRealPath is not offered by the confined WASI file system");
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("no watch service");
    }

    @Override
    public int compareTo(Path other) {
        return path.compareTo(of(other).path);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfinedPath && ((ConfinedPath) o).fs == fs && ((ConfinedPath) o).path.equals(path);
    }

    @Override
    public int hashCode() {
        return path.hashCode();
    }

    @Override
    public String toString() {
        return path;
    }
}
