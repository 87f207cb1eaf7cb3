package io.kuasar.wasm.engine.internal.fs;

import java.nio.ByteBuffer;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One file's attributes from statx(2). Offers what the JDK's own Unix provider offers, with the same names and
 * value types, because Chicory reads them by name from {@code readAttributes(path, "unix:*")} and casts them: dev
 * and size as long, ino and nlink as numbers, the three times as FileTime, isSymbolicLink/isDirectory/isRegularFile.
 */
final class Stat implements PosixFileAttributes {
    static final List<String> BASIC = List.of("lastModifiedTime", "lastAccessTime", "creationTime", "size",
            "isRegularFile", "isDirectory", "isSymbolicLink", "isOther", "fileKey");
    static final List<String> POSIX = List.of("permissions", "owner", "group");
    static final List<String> UNIX = List.of("mode", "ino", "dev", "rdev", "nlink", "uid", "gid", "ctime");

    private final int mask;
    private final int nlink;
    private final int uid;
    private final int gid;
    private final int mode;
    private final long ino;
    private final long size;
    private final FileTime atime;
    private final FileTime btime;
    private final FileTime ctime;
    private final FileTime mtime;
    private final long rdev;
    private final long dev;

    /** Offsets of struct statx (include/uapi/linux/stat.h), the same on every architecture. */
    Stat(ByteBuffer b) {
        mask = b.getInt(0);
        nlink = b.getInt(16);
        uid = b.getInt(20);
        gid = b.getInt(24);
        mode = Short.toUnsignedInt(b.getShort(28));
        ino = b.getLong(32);
        size = b.getLong(40);
        atime = time(b, 64);
        btime = time(b, 80);
        ctime = time(b, 96);
        mtime = time(b, 112);
        rdev = makedev(b.getInt(128), b.getInt(132));
        dev = makedev(b.getInt(136), b.getInt(140));
    }

    private static FileTime time(ByteBuffer b, int at) {
        return FileTime.from(TimeUnit.SECONDS.toNanos(b.getLong(at)) + Integer.toUnsignedLong(b.getInt(at + 8)),
                TimeUnit.NANOSECONDS);
    }

    /** glibc's encoding of a device number, which is also what the JDK reports as "unix:dev". */
    private static long makedev(int major, int minor) {
        long ma = Integer.toUnsignedLong(major);
        long mi = Integer.toUnsignedLong(minor);
        return ((ma & 0xfffff000L) << 32) | ((ma & 0xfffL) << 8) | ((mi & 0xffffff00L) << 12) | (mi & 0xffL);
    }

    int mode() {
        return mode;
    }

    int type() {
        return mode & Native.S_IFMT;
    }

    long ino() {
        return ino;
    }

    long rdev() {
        return rdev;
    }

    @Override
    public FileTime lastModifiedTime() {
        return mtime;
    }

    @Override
    public FileTime lastAccessTime() {
        return atime;
    }

    /** Birth time when the file system records it, else the modification time (as the JDK does). */
    @Override
    public FileTime creationTime() {
        return (mask & Native.STATX_BTIME) != 0 ? btime : mtime;
    }

    @Override
    public boolean isRegularFile() {
        return type() == Native.S_IFREG;
    }

    @Override
    public boolean isDirectory() {
        return type() == Native.S_IFDIR;
    }

    @Override
    public boolean isSymbolicLink() {
        return type() == Native.S_IFLNK;
    }

    @Override
    public boolean isOther() {
        return !isRegularFile() && !isDirectory() && !isSymbolicLink();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public Object fileKey() {
        return new Key(dev, ino);
    }

    @Override
    public UserPrincipal owner() {
        return new User(uid);
    }

    @Override
    public GroupPrincipal group() {
        return new Group(gid);
    }

    @Override
    public Set<PosixFilePermission> permissions() {
        Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] all = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE: bits 8 to 0
        for (int i = 0; i < all.length; i++) {
            if ((mode & (1 << (8 - i))) != 0) {
                s.add(all[i]);
            }
        }
        return s;
    }

    /** The attributes named in the JDK's syntax for one view: "basic", "posix" (basic + 3) or "unix" (posix + 8). */
    Map<String, Object> toMap(String view, String names) {
        List<String> known = switch (view) {
            case "basic" -> BASIC;
            case "posix" -> concat(BASIC, POSIX);
            case "unix" -> concat(concat(BASIC, POSIX), UNIX);
            default -> throw new UnsupportedOperationException("view " + view + " is not available");
        };
        Map<String, Object> out = new LinkedHashMap<>();
        for (String n : names.split(",")) {
            if (n.equals("*")) {
                known.forEach(k -> out.put(k, value(k)));
            } else if (known.contains(n)) {
                out.put(n, value(n));
            } else {
                throw new IllegalArgumentException("'" + n + "' not recognized");
            }
        }
        return out;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return Stream.concat(a.stream(), b.stream()).toList();
    }

    private Object value(String name) {
        return switch (name) {
            case "lastModifiedTime" -> mtime;
            case "lastAccessTime" -> atime;
            case "creationTime" -> creationTime();
            case "size" -> size;
            case "isRegularFile" -> isRegularFile();
            case "isDirectory" -> isDirectory();
            case "isSymbolicLink" -> isSymbolicLink();
            case "isOther" -> isOther();
            case "fileKey" -> fileKey();
            case "permissions" -> permissions();
            case "owner" -> owner();
            case "group" -> group();
            case "mode" -> mode;
            case "ino" -> ino;
            case "dev" -> dev;
            case "rdev" -> rdev;
            case "nlink" -> nlink;
            case "uid" -> uid;
            case "gid" -> gid;
            case "ctime" -> ctime;
            default -> throw new IllegalArgumentException(name);
        };
    }

    /** Identity of a file, as the JDK's fileKey: device and inode. */
    record Key(long dev, long ino) {
    }

    /** A numeric owner: the container's names live in its own /etc/passwd, which the node does not read. */
    record User(int uid) implements UserPrincipal {
        @Override
        public String getName() {
            return Integer.toString(uid);
        }
    }

    record Group(int gid) implements GroupPrincipal {
        @Override
        public String getName() {
            return Integer.toString(gid);
        }
    }
}
