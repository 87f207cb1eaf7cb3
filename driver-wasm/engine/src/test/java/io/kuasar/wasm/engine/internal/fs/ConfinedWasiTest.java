package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.WasiScript.i;
import static io.kuasar.wasm.engine.internal.fs.WasiScript.l;
import static io.kuasar.wasm.engine.internal.fs.WasiScript.load;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.wasm.engine.LaunchSpec;
import io.kuasar.wasm.engine.RunOutcome;
import io.kuasar.wasm.engine.internal.ChicoryEngine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End to end through the engine (ChicoryRun, Chicory 1.7.5's WasiPreview1, the confined file systems): real WASI
 * modules, one built here call by call, and the C test module, use the links of {@link Fixture} that point out of
 * the rootfs. Every call gets the errno or the in-root result runc's view would give; the outside is untouched.
 * With openat2 and with the component walk.
 */
class ConfinedWasiTest {
    private static final int FOLLOW = 1;
    private static final int CREAT = 1;
    private static final int DIRECTORY = 2;
    private static final long FD_READ = 1L << 1;
    private static final long FD_WRITE = 1L << 6;
    private static final long FD_READDIR = 1L << 14;
    private static final int MTIM = 4;
    private static final int ENOENT = 44;
    private static final int ELOOP = 32;
    private static final int EPERM = 63;

    @TempDir
    Path tmp;
    /** The modules' stdout and stderr, away from the watched tree. */
    @TempDir
    Path logs;
    Fixture f;
    Outside outside;
    Path data;

    /** How the engine's preopened directories resolve paths in this test. */
    private Resolution resolution = Resolution.AUTO;

    @BeforeEach
    void tree() throws IOException {
        f = new Fixture(tmp);
        Files.createDirectories(f.root.resolve("mnt/vol"));
        Files.createSymbolicLink(f.root.resolve("mnt/vol/vol-up"), Path.of("/"));
        data = Files.createDirectory(f.tmp.resolve("data"));
        Files.writeString(data.resolve("data-file"), "data file");
        Files.createSymbolicLink(data.resolve("d-up"), Path.of("/"));
        outside = Outside.of(f.tmp, f.root);
    }

    @AfterEach
    void untouched() throws IOException {
        outside.assertUntouched();
    }

    private RunOutcome run(String key, Path module, String... args) throws Exception {
        Map<String, Path> pre = new LinkedHashMap<>();
        pre.put("/", f.root);                          // fd 3
        pre.put("/mnt/vol", f.root.resolve("mnt/vol")); // fd 4: a volume inside the rootfs
        pre.put("/data", data);                         // fd 5: a directory of its own
        ChicoryEngine engine = new ChicoryEngine(false, 4, 4, 1 << 20, resolution);
        LaunchSpec spec = new LaunchSpec(key, module, List.of(args), Map.of(), pre, "",
                logs.resolve(key + ".out").toString(), logs.resolve(key + ".err").toString(), 0);
        return engine.launch(spec).outcome().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private Path moduleFile(byte[] wasm, String name) throws IOException {
        return Files.write(logs.resolve(name + ".wasm"), wasm);
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void wasiCallsThroughLinksOutOfTheRootStayInIt(Resolution mode) throws Exception {
        resolution = mode;
        WasiScript s = new WasiScript();
        int fd = s.alloc(8);
        int n = s.alloc(32); // byte counts: n read, n + 4 written, n + 8 readlink, n + 12 readdir, n + 16 read
        int buf = s.alloc(64);
        int open = s.call("path_open", i(3), i(FOLLOW), s.str("hostroot" + f.out + "/secret"), i(0), l(FD_READ),
                l(0), i(0), i(fd));
        int read = s.call("fd_read", load(fd), i(s.iov(buf, 64)), i(1), i(n));
        int onlyOutside = s.call("path_open", i(3), i(FOLLOW), s.str("up" + f.out + "/only-outside"), i(0),
                l(FD_READ), l(0), i(0), i(fd + 4));
        int wfd = s.alloc(8);
        int create = s.call("path_open", i(3), i(FOLLOW), s.str("abs-out/created.txt"), i(CREAT),
                l(FD_READ | FD_WRITE), l(0), i(0), i(wfd));
        byte[] text = "from wasm".getBytes(StandardCharsets.UTF_8);
        int write = s.call("fd_write", load(wfd), i(s.iov(s.bytes(text), text.length)), i(1), i(n + 4));
        int close = s.call("fd_close", load(wfd));
        int mkdir = s.call("path_create_directory", i(3), s.str("escape/newdir"));
        int symlink = s.call("path_symlink", s.str("hostroot"), i(3), s.str("lnk"));
        int viaLnk = s.call("path_filestat_get", i(3), i(FOLLOW), s.str("lnk" + f.out + "/secret"), i(s.alloc(64)));
        int link = s.call("path_link", i(3), i(0), s.str("etc/passwd"), i(3), s.str("abs-out/hard"));
        int unlink = s.call("path_unlink_file", i(3), s.str("hostroot" + f.out + "/victim"));
        int rename = s.call("path_rename", i(3), s.str("abs-out/movable"), i(3), s.str("moved"));
        int rl = s.alloc(64);
        int readlink = s.call("path_readlink", i(3), s.str("hostroot" + f.out + "/outlink"), i(rl), i(64),
                i(n + 8));
        int st = s.alloc(64);
        int stat = s.call("path_filestat_get", i(3), i(FOLLOW), s.str("file-out"), i(st));
        int lst = s.alloc(64);
        int lstat = s.call("path_filestat_get", i(3), i(0), s.str("file-out"), i(lst));
        int dfd = s.alloc(8);
        int opendir = s.call("path_open", i(3), i(FOLLOW), s.str("abs-out"), i(DIRECTORY), l(FD_READDIR), l(0),
                i(0), i(dfd));
        int dirbuf = s.alloc(1024);
        int readdir = s.call("fd_readdir", load(dfd), i(dirbuf), i(1024), l(0), i(n + 12));
        int times = s.call("path_filestat_set_times", i(3), i(FOLLOW), s.str("file-out"), l(0),
                l(86_400_000_000_000L), i(MTIM));
        int climb = s.call("path_open", i(3), i(FOLLOW), s.str("../x"), i(0), l(FD_READ), l(0), i(0), i(fd));
        int loop = s.call("path_open", i(3), i(FOLLOW), s.str("loop1"), i(0), l(FD_READ), l(0), i(0), i(fd));
        int dangling = s.call("path_open", i(3), i(FOLLOW), s.str("dangling"), i(0), l(FD_READ), l(0), i(0), i(fd));
        int vfd = s.alloc(8);
        int vol = s.call("path_open", i(4), i(FOLLOW), s.str("vol-up/etc/passwd"), i(0), l(FD_READ), l(0), i(0),
                i(vfd));
        int vbuf = s.alloc(64);
        int volRead = s.call("fd_read", load(vfd), i(s.iov(vbuf, 64)), i(1), i(n + 16));
        int dataOut = s.call("path_open", i(5), i(FOLLOW), s.str("d-up" + f.out + "/secret"), i(0), l(FD_READ),
                l(0), i(0), i(fd));
        int dataIn = s.call("path_filestat_get", i(5), i(FOLLOW), s.str("d-up/data-file"), i(s.alloc(64)));
        int rmdir = s.call("path_remove_directory", i(3), s.str("escape/newdir"));

        RunOutcome o = run("script", moduleFile(s.build(), "script"));
        assertEquals(0, o.exitCode(), o::toString);
        ByteBuffer mem = ByteBuffer.wrap(Files.readAllBytes(logs.resolve("script.out")))
                .order(ByteOrder.LITTLE_ENDIAN);
        Outside.assertNotSecret(mem.array(), "the module");
        assertEquals(0, mem.getInt(open));
        assertEquals(0, mem.getInt(read));
        assertEquals("decoy secret", str(mem, buf, mem.getInt(n)));
        assertEquals(ENOENT, mem.getInt(onlyOutside));
        assertEquals(List.of(0, 0, 0), List.of(mem.getInt(create), mem.getInt(write), mem.getInt(close)));
        assertEquals("from wasm", Files.readString(f.decoy.resolve("created.txt")));
        assertEquals(0, mem.getInt(mkdir));
        assertEquals(List.of(0, 0), List.of(mem.getInt(symlink), mem.getInt(viaLnk)));
        assertEquals("/hostroot", Files.readSymbolicLink(f.root.resolve("lnk")).toString());
        assertEquals(0, mem.getInt(link));
        assertEquals(ino(f.root.resolve("etc/passwd")), ino(f.decoy.resolve("hard")));
        assertEquals(0, mem.getInt(unlink));
        assertFalse(Files.exists(f.decoy.resolve("victim")));
        assertEquals(0, mem.getInt(rename));
        assertEquals("decoy movable", Files.readString(f.root.resolve("moved")));
        assertEquals(0, mem.getInt(readlink));
        assertEquals("inside-target", str(mem, rl, mem.getInt(n + 8)));
        assertEquals(0, mem.getInt(stat));
        assertEquals(ino(f.decoy.resolve("secret")), mem.getLong(st + 8));
        assertEquals(4, mem.get(st + 16)); // regular file
        assertEquals(0, mem.getInt(lstat));
        assertEquals(7, mem.get(lst + 16)); // symbolic link
        assertEquals(List.of(0, 0), List.of(mem.getInt(opendir), mem.getInt(readdir)));
        List<String> names = dirents(mem, dirbuf, mem.getInt(n + 12));
        // (Chicory stats entries following links and leaves dangling ones out: "outlink" -> inside-target)
        assertTrue(names.containsAll(List.of(".", "..", "secret", "created.txt", "dir", "hard")), names::toString);
        assertFalse(names.contains("only-outside"), names::toString);
        assertEquals(0, mem.getInt(times));
        assertEquals(FileTime.fromMillis(86_400_000L), Files.getLastModifiedTime(f.decoy.resolve("secret")));
        assertEquals(EPERM, mem.getInt(climb));
        assertEquals(ELOOP, mem.getInt(loop));
        assertEquals(ENOENT, mem.getInt(dangling));
        assertEquals(List.of(0, 0), List.of(mem.getInt(vol), mem.getInt(volRead)));
        assertEquals("container passwd", str(mem, vbuf, mem.getInt(n + 16)));
        assertEquals(ENOENT, mem.getInt(dataOut));
        assertEquals(0, mem.getInt(dataIn));
        assertEquals(0, mem.getInt(rmdir));
    }

    @ParameterizedTest
    @EnumSource(value = Resolution.class, names = {"OPENAT2", "WALK"})
    void theCTestModuleReadsAndWritesInTheRoot(Resolution mode) throws Exception {
        resolution = mode;
        Path module;
        try (InputStream in = getClass().getResourceAsStream("/wasm-test.wasm")) {
            module = moduleFile(in.readAllBytes(), "wasm-test");
        }
        RunOutcome o = run("c", module, "m", "quiet", "read", "/hostroot" + f.out + "/secret",
                "read", "/abs-out/only-outside", "write", "/hostroot" + f.out + "/w.txt", "by-c",
                "read", "/mnt/vol/vol-up/etc/passwd");
        assertEquals(0, o.exitCode(), o::toString);
        String out = Files.readString(logs.resolve("c.out"));
        assertTrue(out.contains("read /hostroot" + f.out + "/secret: decoy secret"), out);
        assertTrue(out.contains("read /abs-out/only-outside: failed"), out);
        assertTrue(out.contains("read /mnt/vol/vol-up/etc/passwd: container passwd"), out);
        assertEquals("by-c", Files.readString(f.decoy.resolve("w.txt")));
        assertFalse(out.contains(Outside.MARK), out);
    }

    private static long ino(Path p) throws IOException {
        return (Long) Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
    }

    private static String str(ByteBuffer mem, int at, int len) {
        return new String(mem.array(), at, len, StandardCharsets.UTF_8);
    }

    /** WASI dirents: {u64 next, u64 ino, u32 namlen, u8 type, 3 pad} then the name. */
    private static List<String> dirents(ByteBuffer mem, int at, int used) {
        List<String> names = new ArrayList<>();
        int p = at;
        while (p + 24 <= at + used) {
            int len = mem.getInt(p + 16);
            names.add(str(mem, p + 24, Math.min(len, at + used - p - 24)));
            p += 24 + len;
        }
        return names;
    }
}
