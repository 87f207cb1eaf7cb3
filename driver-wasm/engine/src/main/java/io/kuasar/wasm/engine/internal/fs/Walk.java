package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.Native.EEXIST;
import static io.kuasar.wasm.engine.internal.fs.Native.ELOOP;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOENT;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOTDIR;
import static io.kuasar.wasm.engine.internal.fs.Native.O_CLOEXEC;
import static io.kuasar.wasm.engine.internal.fs.Native.O_CREAT;
import static io.kuasar.wasm.engine.internal.fs.Native.O_DIRECTORY;
import static io.kuasar.wasm.engine.internal.fs.Native.O_EXCL;
import static io.kuasar.wasm.engine.internal.fs.Native.O_NOFOLLOW;
import static io.kuasar.wasm.engine.internal.fs.Native.O_PATH;
import static io.kuasar.wasm.engine.internal.fs.Native.S_IFDIR;
import static io.kuasar.wasm.engine.internal.fs.Native.S_IFLNK;

import io.kuasar.wasm.engine.internal.fs.Native.Errno;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * RESOLVE_IN_ROOT without openat2 (kernels before 5.6): one component at a time from the root descriptor, each
 * opened with O_PATH|O_NOFOLLOW relative to the directory before it, so the kernel never follows a link for us.
 * A symlink's target is read with readlinkat and spliced into the components still to walk: an absolute target
 * restarts at the root, a relative one continues from the directory that holds the link. ".." returns to the
 * descriptor the walk came from, which is the root at the top: it never climbs above it, even if a directory
 * is moved away meanwhile. At most 40 links are followed (the kernel's MAXSYMLINKS), then ELOOP. One Walk per
 * call; not thread-safe, not reused.
 */
final class Walk {
    static final int MAX_LINKS = 40;
    /** Re-looks at a name that turned into a symlink between our look and the final open (a rename race). */
    private static final int MAX_RACES = 16;

    private final int root;
    /** Descriptors of the directories above {@link #cur}, nearest last; the root is not among them. */
    private final Deque<Integer> above = new ArrayDeque<>();
    private final Deque<String> todo = new ArrayDeque<>();
    /** The directory being walked: the root (not ours to close) or a descriptor we own. */
    private int cur;
    private int links;
    private int races;

    Walk(int root) {
        this.root = root;
        this.cur = root;
    }

    int open(String rel, int flags, int mode) throws Errno {
        todo.addAll(split(rel));
        boolean follow = (flags & O_NOFOLLOW) == 0 && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
        try {
            while (true) {
                if (todo.isEmpty()) {
                    todo.add(".");
                }
                String name = todo.pollFirst();
                boolean last = todo.isEmpty();
                if (name.equals(".") || name.equals("..")) {
                    if (name.equals("..")) {
                        up();
                    }
                    if (last) {
                        return openat(cur, ".", flags, mode);
                    }
                    continue;
                }
                int fd;
                try {
                    fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
                } catch (Errno e) {
                    if (e.code == ENOENT && last && (flags & O_CREAT) != 0) {
                        Integer made = create(name, flags, mode);
                        if (made != null) {
                            return made;
                        }
                        continue; // a symlink appeared at the name: look again
                    }
                    throw e;
                }
                int type;
                try {
                    type = Native.type(fd);
                } catch (Errno e) {
                    Native.close(fd);
                    throw e;
                }
                if (type == S_IFLNK && (!last || follow)) {
                    String target;
                    try {
                        target = Native.readlink(fd, "");
                    } finally {
                        Native.close(fd);
                    }
                    splice(target);
                    continue;
                }
                if (!last) {
                    if (type != S_IFDIR) {
                        Native.close(fd);
                        throw new Errno(ENOTDIR);
                    }
                    down(fd);
                    continue;
                }
                Integer done = last(fd, type, name, flags, mode);
                if (done != null) {
                    return done;
                }
            }
        } finally {
            if (cur != root) {
                Native.close(cur);
            }
            above.forEach(Native::close);
        }
    }

    /** The final component, already looked at (fd, type); null when it must be looked at again. */
    private Integer last(int fd, int type, String name, int flags, int mode) throws Errno {
        if ((flags & O_PATH) != 0) {
            if ((flags & O_DIRECTORY) != 0 && type != S_IFDIR) {
                Native.close(fd);
                throw new Errno(ENOTDIR);
            }
            return fd; // the O_PATH descriptor is the answer (of a symlink itself with O_NOFOLLOW)
        }
        Native.close(fd);
        if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
            throw new Errno(EEXIST);
        }
        if (type == S_IFLNK) {
            throw new Errno(ELOOP); // open(2) with O_NOFOLLOW of a symlink
        }
        // Opened for real by name once more: O_NOFOLLOW fails if the name became a symlink since our look.
        try {
            return openat(cur, name, flags | O_NOFOLLOW, mode);
        } catch (Errno e) {
            if ((e.code == ELOOP || e.code == ENOTDIR) && (flags & O_NOFOLLOW) == 0 && ++races < MAX_RACES) {
                todo.addFirst(name);
                return null;
            }
            throw e;
        }
    }

    /** O_CREAT of a name that was absent; null if a symlink took its place meanwhile (then it is followed). */
    private Integer create(String name, int flags, int mode) throws Errno {
        try {
            return openat(cur, name, flags | O_NOFOLLOW, mode);
        } catch (Errno e) {
            boolean excl = (flags & O_EXCL) != 0;
            if (!excl && e.code == ELOOP && (flags & O_NOFOLLOW) == 0 && ++races < MAX_RACES) {
                todo.addFirst(name);
                return null;
            }
            throw e;
        }
    }

    private void splice(String target) throws Errno {
        if (++links > MAX_LINKS) {
            throw new Errno(ELOOP);
        }
        if (target.isEmpty()) {
            throw new Errno(ENOENT);
        }
        if (target.startsWith("/")) {
            toRoot();
        }
        List<String> parts = split(target);
        for (int i = parts.size() - 1; i >= 0; i--) {
            todo.addFirst(parts.get(i));
        }
    }

    private void down(int fd) {
        if (cur != root) {
            above.addLast(cur);
        }
        cur = fd;
    }

    /** "..": back to the directory we came from; at the root, stay. */
    private void up() {
        if (cur == root) {
            return;
        }
        Native.close(cur);
        cur = above.isEmpty() ? root : above.pollLast();
    }

    private void toRoot() {
        if (cur != root) {
            Native.close(cur);
        }
        above.forEach(Native::close);
        above.clear();
        cur = root;
    }

    private static int openat(int dir, String name, int flags, int mode) throws Errno {
        int fd = Native.libc().openat(dir, Native.cstr(name), flags | O_CLOEXEC, mode);
        if (fd < 0) {
            throw Native.fail();
        }
        return fd;
    }

    /** Components of a path; a trailing "/" becomes a final "." so that the last name must be a directory. */
    static List<String> split(String path) {
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) {
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        if (path.endsWith("/") && !out.isEmpty()) {
            out.add(".");
        }
        return out;
    }
}
