package io.kuasar.driver.vmm.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The guest initramfs writer: cpio newc format, reproducibility, and module dependency order. */
class InitramfsBuilderTest {
    @TempDir
    Path dir;

    /** One member of a newc archive as read back. */
    record Member(String name, int mode, int nlink, long mtime, int rdevMajor, int rdevMinor, byte[] data) {
    }

    /** A reader of the newc format, written from its definition, to check what the builder wrote. */
    static Map<String, Member> read(byte[] a) {
        Map<String, Member> out = new LinkedHashMap<>();
        int off = 0;
        while (true) {
            String h = new String(a, off, 110, StandardCharsets.US_ASCII);
            assertEquals("070701", h.substring(0, 6), "magic at " + off);
            int[] f = new int[13];
            for (int i = 0; i < 13; i++) {
                f[i] = Integer.parseUnsignedInt(h.substring(6 + 8 * i, 14 + 8 * i), 16);
            }
            int nameSize = f[11];
            String name = new String(a, off + 110, nameSize - 1, StandardCharsets.UTF_8);
            off = align(off + 110 + nameSize);
            byte[] data = java.util.Arrays.copyOfRange(a, off, off + f[6]);
            off = align(off + f[6]);
            if (name.equals("TRAILER!!!")) {
                assertEquals(a.length, off, "nothing after the trailer");
                return out;
            }
            out.put(name, new Member(name, f[1], f[4], f[5], f[9], f[10], data));
        }
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    private Path ko(String name, String depends) throws IOException {
        Path p = Files.createDirectories(dir.resolve("mods/kernel/x")).resolve(name + ".ko");
        // a .modinfo section is NUL-separated key=value strings; some noise around it as in a real ELF file
        byte[] body = ("\u007fELF\0junk\0license=GPL\0depends=" + depends + "\0vermagic=6.1\0")
                .getBytes(StandardCharsets.US_ASCII);
        Files.write(p, body);
        return p;
    }

    @Test
    void writesFilesLinksDevicesAndParentsSortedWithFixedMetadata() throws IOException {
        Path exe = dir.resolve("agent");
        Files.writeString(exe, "binary");
        Files.setPosixFilePermissions(exe, PosixFilePermissions.fromString("rwxr-x---"));
        Path conf = dir.resolve("conf");
        Files.writeString(conf, "abc");
        InitramfsBuilder b = new InitramfsBuilder();
        b.readSpec(List.of("# the guest", "file init " + exe, "file etc/deep/conf " + conf, "link bin/sh busybox",
                "dev dev/console 5 1", "dir proc"));
        Map<String, Member> m = read(b.toBytes());

        assertEquals(List.of("bin", "bin/sh", "dev", "dev/console", "etc", "etc/deep", "etc/deep/conf", "init", "proc"),
                new ArrayList<>(m.keySet()));
        assertEquals(0100755, m.get("init").mode(), "executable → 0755");
        assertEquals(0100644, m.get("etc/deep/conf").mode());
        assertEquals("abc", new String(m.get("etc/deep/conf").data(), StandardCharsets.UTF_8));
        assertEquals(0120777, m.get("bin/sh").mode());
        assertEquals("busybox", new String(m.get("bin/sh").data(), StandardCharsets.UTF_8));
        assertEquals(0020600, m.get("dev/console").mode());
        assertEquals(5, m.get("dev/console").rdevMajor());
        assertEquals(1, m.get("dev/console").rdevMinor());
        assertEquals(0040755, m.get("etc/deep").mode());
        assertEquals(2, m.get("proc").nlink(), "directories have two links");
        assertTrue(m.values().stream().allMatch(e -> e.mtime() == 0), "mtime 0 everywhere");
    }

    @Test
    void theSameInputsGiveTheSameBytes() throws IOException {
        Path f = dir.resolve("f");
        Files.writeString(f, "x");
        ko("a", "");
        List<String> spec = List.of("file z/f " + f, "file a/f " + f, "modules " + dir.resolve("mods") + " a");
        InitramfsBuilder one = new InitramfsBuilder();
        one.readSpec(spec);
        InitramfsBuilder two = new InitramfsBuilder();
        two.readSpec(List.of(spec.get(2), spec.get(1), spec.get(0)));
        assertArrayEquals(one.toBytes(), two.toBytes(), "order of the spec or time of the build must not matter");
    }

    @Test
    void modulesComeWithTheirDependenciesInLoadOrder() throws IOException {
        ko("9p", "9pnet,netfs");
        ko("9pnet", "");
        ko("netfs", "fscache");
        ko("fscache", "");
        ko("virtio-console", "virtio,virtio_ring");
        ko("virtio", "");
        ko("virtio_ring", "virtio");
        ko("unused", "");
        InitramfsBuilder b = new InitramfsBuilder();
        b.modules(dir.resolve("mods"), List.of("virtio_console", "9p"));
        Map<String, Member> m = read(b.toBytes());
        List<String> order = new String(m.get(InitramfsBuilder.MODULE_LIST).data(), StandardCharsets.UTF_8).lines()
                .map(l -> l.replace("/lib/modules/", "").replace(".ko", "")).toList();
        assertEquals(7, order.size(), "everything needed, nothing else: " + order);
        assertTrue(order.indexOf("virtio") < order.indexOf("virtio_ring"), order::toString);
        assertTrue(order.indexOf("virtio_ring") < order.indexOf("virtio_console"), order::toString);
        assertTrue(order.indexOf("fscache") < order.indexOf("netfs"), order::toString);
        assertTrue(order.indexOf("netfs") < order.indexOf("9p") && order.indexOf("9pnet") < order.indexOf("9p"),
                order::toString);
        assertTrue(m.containsKey("lib/modules/virtio_console.ko"), "'-' and '_' are the same to the kernel");
    }

    @Test
    void badSpecsAreRefusedNamingTheProblem() throws IOException {
        ko("a", "b");
        ko("b", "a");
        InitramfsBuilder b = new InitramfsBuilder();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.readSpec(List.of("file ../etc/passwd /x")))
                .getMessage().contains("bad archive path"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.readSpec(List.of("link only-one")))
                .getMessage().contains("needs 3 words"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.readSpec(List.of("copy a b")))
                .getMessage().contains("unknown kind copy"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.modules(dir.resolve("mods"), List.of("nope")))
                .getMessage().contains("module nope not found"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> b.modules(dir.resolve("mods"), List.of("a")))
                .getMessage().contains("cycle"));
    }

    @Test
    void dependsIsReadOnlyAsAWholeModinfoKey() {
        byte[] ko = "xdepends=wrong\0depends=\0".getBytes(StandardCharsets.US_ASCII);
        assertEquals(List.of(), InitramfsBuilder.dependsOf(ko));
        assertEquals(List.of("a", "b"), InitramfsBuilder.dependsOf("\0depends=a,b\0".getBytes(StandardCharsets.US_ASCII)));
    }
}
