package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.Native.EAGAIN;
import static io.kuasar.wasm.engine.internal.fs.Native.EINTR;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOSYS;
import static io.kuasar.wasm.engine.internal.fs.Native.O_CLOEXEC;
import static io.kuasar.wasm.engine.internal.fs.Native.O_CREAT;
import static io.kuasar.wasm.engine.internal.fs.Native.O_DIRECTORY;
import static io.kuasar.wasm.engine.internal.fs.Native.O_PATH;

import io.kuasar.wasm.engine.internal.fs.Native.Errno;

/**
 * Resolves a path inside one root directory, held as a descriptor, the way the container's own mount namespace
 * would: absolute symlinks start again at the root, ".." stops at the root, at every component and for links
 * created at any time. The kernel does it: openat2(root, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS). Kernels
 * older than 5.6 (ENOSYS) get {@link Walk}, the same rule applied one component at a time with O_NOFOLLOW. No
 * string is checked and no real path is computed: whatever a directory turns into between two calls, each step is
 * taken by the kernel relative to a descriptor already inside the root.
 */
final class InRoot {
    /** EAGAIN from openat2 means a rename or mount raced the lookup; it is retried, then walked. */
    private static final int RETRIES = 64;
    private static volatile boolean openat2Missing;

    private final int root;
    private final Resolution mode;

    InRoot(int root, Resolution mode) {
        this.root = root;
        this.mode = mode;
    }

    int rootFd() {
        return root;
    }

    /**
     * Opens {@code rel} (relative to the root; a leading "/" means the root too) with open(2) flags; perm is used
     * with O_CREAT only. The result is a new descriptor, close-on-exec, that the caller owns.
     */
    int open(String rel, int flags, int perm) throws Errno {
        flags |= O_CLOEXEC;
        if (useWalk()) {
            return new Walk(root).open(rel, flags, perm);
        }
        // openat2 refuses a mode without O_CREAT (EINVAL), unlike openat
        long[] how = {Integer.toUnsignedLong(flags), (flags & O_CREAT) != 0 ? perm : 0,
                Native.RESOLVE_IN_ROOT | Native.RESOLVE_NO_MAGICLINKS};
        byte[] path = Native.cstr(rel.isEmpty() ? "." : rel);
        for (int i = 0; ; i++) {
            long fd = Native.libc().syscall(Native.SYS_OPENAT2, root, path, how, 24);
            if (fd >= 0) {
                return (int) fd;
            }
            int e = Native.errno();
            if (e == ENOSYS && mode == Resolution.AUTO) {
                openat2Missing = true; // remembered for the node's life: the kernel does not change under it
                return new Walk(root).open(rel, flags, perm);
            }
            if ((e == EAGAIN || e == EINTR) && i < RETRIES) {
                continue;
            }
            if (e == EAGAIN) {
                return new Walk(root).open(rel, flags, perm); // as safe, and not disturbed by the racing renames
            }
            throw new Errno(e);
        }
    }

    private boolean useWalk() {
        return mode == Resolution.WALK || (mode == Resolution.AUTO && openat2Missing);
    }

    /**
     * The directory that holds the last component of {@code rel}, resolved in the root (following every link on
     * the way), and that component's name, which the caller acts on relative to the descriptor: mkdirat, unlinkat,
     * linkat, renameat... never re-resolving the directory by name. The name may be "", "." or ".." (the root
     * itself, or a path ending so): {@link Parent#plain()} says whether it is an entry one can create or remove.
     */
    Parent parent(String rel) throws Errno {
        String p = rel;
        while (p.endsWith("/") && p.length() > 1) {
            p = p.substring(0, p.length() - 1);
        }
        int slash = p.lastIndexOf('/');
        String dir = slash < 0 ? "." : (slash == 0 ? "/" : p.substring(0, slash));
        String name = slash < 0 ? p : p.substring(slash + 1);
        if (p.equals("/") || p.isEmpty()) {
            name = "";
        }
        int fd = open(dir, O_PATH | O_DIRECTORY, 0);
        return new Parent(fd, name);
    }

    /** A directory descriptor (owned, closed with this) and the name of an entry in it. */
    record Parent(int fd, String name) implements AutoCloseable {
        boolean plain() {
            return !name.isEmpty() && !name.equals(".") && !name.equals("..");
        }

        @Override
        public void close() {
            Native.close(fd);
        }
    }
}
