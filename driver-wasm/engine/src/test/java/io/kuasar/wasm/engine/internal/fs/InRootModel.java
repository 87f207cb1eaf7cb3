package io.kuasar.wasm.engine.internal.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * An independent, deliberately simple model of RESOLVE_IN_ROOT for a tree no one else changes: a list of real
 * directory names from the root (so host lookups on it never cross a symlink), symlink targets read with the JDK
 * and spliced in (absolute ones from the root), ".." dropping the last name but never below the root, 40 links at
 * most. It tells where a path must land on the host, or which error it must give.
 */
final class InRootModel {
    private final Path root;

    InRootModel(Path root) {
        this.root = root;
    }

    /** Where a lookup ends: the host path of an entry (existing or not: its would-be path), or an errno. */
    record Result(Path host, boolean exists, int errno) {
        boolean ok() {
            return errno == 0;
        }
    }

    Result resolve(String path, boolean followLast) throws IOException {
        Deque<String> todo = new ArrayDeque<>(split(path));
        List<String> dirs = new ArrayList<>();
        int links = 0;
        if (todo.isEmpty()) {
            return new Result(root, true, 0);
        }
        while (!todo.isEmpty()) {
            String n = todo.pollFirst();
            boolean last = todo.isEmpty();
            if (n.equals(".") || n.equals("..")) {
                if (n.equals("..") && !dirs.isEmpty()) {
                    dirs.remove(dirs.size() - 1);
                }
                if (last) {
                    return new Result(at(dirs), true, 0);
                }
                continue;
            }
            Path host = at(dirs).resolve(n);
            if (Files.isSymbolicLink(host) && (!last || followLast)) {
                if (++links > Walk.MAX_LINKS) {
                    return new Result(null, false, Native.ELOOP);
                }
                String target = Files.readSymbolicLink(host).toString();
                if (target.startsWith("/")) {
                    dirs.clear();
                }
                List<String> parts = split(target);
                for (int i = parts.size() - 1; i >= 0; i--) {
                    todo.addFirst(parts.get(i));
                }
                if (todo.isEmpty()) {
                    return new Result(at(dirs), true, 0); // a link to "/"
                }
                continue;
            }
            boolean exists = Files.exists(host, LinkOption.NOFOLLOW_LINKS);
            if (last) {
                return new Result(host, exists, 0);
            }
            if (!exists) {
                return new Result(null, false, Native.ENOENT);
            }
            if (!Files.isDirectory(host, LinkOption.NOFOLLOW_LINKS)) {
                return new Result(null, false, Native.ENOTDIR);
            }
            dirs.add(n);
        }
        return new Result(at(dirs), true, 0);
    }

    /** The entry a create/remove/rename of {@code path} acts on: its parent resolved, then its own last name. */
    Result entry(String path) throws IOException {
        String p = path.replaceAll("/+$", "");
        int slash = p.lastIndexOf('/');
        String name = p.substring(slash + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            return new Result(null, true, Native.EINVAL);
        }
        Result dir = resolve(slash < 0 ? "." : (slash == 0 ? "/" : p.substring(0, slash)), true);
        if (!dir.ok()) {
            return dir;
        }
        if (!dir.exists()) {
            return new Result(null, false, Native.ENOENT);
        }
        if (!Files.isDirectory(dir.host(), LinkOption.NOFOLLOW_LINKS)) {
            return new Result(null, false, Native.ENOTDIR);
        }
        Path host = dir.host().resolve(name);
        return new Result(host, Files.exists(host, LinkOption.NOFOLLOW_LINKS), 0);
    }

    private Path at(List<String> dirs) {
        return dirs.isEmpty() ? root : root.resolve(String.join("/", dirs));
    }

    private static List<String> split(String p) {
        List<String> out = new ArrayList<>();
        for (String s : p.split("/")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }
}
