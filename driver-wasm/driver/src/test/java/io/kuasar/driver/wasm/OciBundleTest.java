package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import io.kuasar.wasm.engine.fs.ContainerRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OciBundleTest {
    static final byte[] MODULE_HEAD = {0, 'a', 's', 'm', 1, 0, 0, 0};

    @TempDir
    Path dir;

    static Path bundle(Path dir, String config) throws Exception {
        Files.createDirectories(dir.resolve("rootfs/app"));
        Files.write(dir.resolve("rootfs/app/m.wasm"), MODULE_HEAD);
        Files.writeString(dir.resolve("rootfs/bad.wasm"), "not a module");
        Files.writeString(dir.resolve("config.json"), config);
        return dir;
    }

    @Test
    void readsArgsEnvVolumesLimitAndCgroup() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path b = bundle(dir.resolve("b"), "{\"process\":{\"args\":[\"m.wasm\",\"x\"],\"env\":[\"A=1\",\"B=2\"],"
                + "\"cwd\":\"/app\"},\"root\":{\"path\":\"rootfs\",\"readonly\":true},\"mounts\":["
                + "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                + "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"" + dir.resolve("b/config.json") + "\",\"options\":[\"rbind\"]},"
                + "{\"destination\":\"/data/\",\"type\":\"bind\",\"source\":\"" + data + "\",\"options\":[\"rbind\",\"ro\"]}],"
                + "\"linux\":{\"resources\":{\"memory\":{\"limit\":16777216}},\"cgroupsPath\":\"/kuasar5/p/c\"}}");
        OciBundle.Parsed p = OciBundle.read(b);
        assertEquals("m.wasm", p.arg0());
        assertEquals("/app", p.cwd());
        assertEquals(List.of("m.wasm", "x"), p.args());
        assertEquals(List.of("A=1", "B=2"), p.env());
        assertEquals(16L << 20, p.memoryLimit());
        assertEquals("/kuasar5/p/c", p.cgroupsPath());
        assertTrue(p.rootReadonly());
        assertEquals(List.of(new OciBundle.Volume("/etc/hosts", dir.resolve("b/config.json"), false, false),
                new OciBundle.Volume("/data", data, true, true)), p.volumes(), "no /proc; files are mounted too");
        Path rootfs = b.resolve("rootfs");
        LaunchPlan plan = OciBundle.plan(p, rootfs.resolve("app/m.wasm"), rootfs,
                Map.of("/data", rootfs.resolve("data").toString(), "/etc/hosts", rootfs.resolve("etc/hosts").toString()));
        assertEquals(Map.of("/", rootfs.toString(), "/data", rootfs.resolve("data").toString()), plan.preopens(),
                "directories are preopened, files are not");
        assertEquals(List.of("/", "/data"), plan.readonly());
        assertEquals(Map.of("A", "1", "B", "2"), plan.envMap());
    }

    @Test
    void theModuleIsFoundInTheImageAsTheContainerSeesIt() throws Exception {
        Path b = bundle(dir.resolve("b"), "{\"process\":{\"args\":[\"/bad.wasm\"]}}");
        Path rootfs = b.resolve("rootfs");
        Files.createSymbolicLink(rootfs.resolve("abs.wasm"), Path.of("/app/m.wasm")); // the image's own absolute link
        Files.createSymbolicLink(rootfs.resolve("escape.wasm"), dir.resolve("outside.wasm"));
        Files.write(dir.resolve("outside.wasm"), MODULE_HEAD);
        Files.createDirectories(rootfs.resolve("vol"));
        Files.write(rootfs.resolve("vol/v.wasm"), MODULE_HEAD);
        try (ContainerRoot root = ContainerRoot.open(rootfs)) {
            assertEquals(rootfs.resolve("app/m.wasm").toRealPath(), OciBundle.module(root, "abs.wasm", "/", List.of()));
            assertEquals(rootfs.resolve("app/m.wasm").toRealPath(), OciBundle.module(root, "m.wasm", "/app", List.of()));
            SandboxException corrupt = assertThrows(SandboxException.class,
                    () -> OciBundle.module(root, "/bad.wasm", "/", List.of()));
            assertTrue(corrupt.getMessage().contains("/bad.wasm") && corrupt.getMessage().contains("not a WebAssembly"),
                    corrupt.getMessage());
            for (String arg0 : List.of("/nope.wasm", "/../../outside.wasm", "/escape.wasm", "/app")) {
                SandboxException e = assertThrows(SandboxException.class, () -> OciBundle.module(root, arg0, "/", List.of()));
                assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code(), arg0);
                assertTrue(e.getMessage().contains(arg0), e.getMessage());
            }
            SandboxException onVolume = assertThrows(SandboxException.class, () -> OciBundle.module(root, "/vol/v.wasm",
                    "/", List.of(rootfs.resolve("vol").toRealPath().toString())));
            assertTrue(onVolume.getMessage().contains("mounted volume"), onVolume.getMessage());
        }
    }

    /** Destinations are judged once normalized: "/." is the root itself, "/x/../proc" is /proc (found by fuzzing). */
    @Test
    void destinationsAreJudgedNormalized() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        String mount = "{\"process\":{\"args\":[\"/app/m.wasm\"]},\"mounts\":[{\"destination\":\"%s\","
                + "\"type\":\"bind\",\"source\":\"%s\"}]}";
        Path b = bundle(dir.resolve("b"), String.format(mount, "/.", data));
        SandboxException root = assertThrows(SandboxException.class, () -> OciBundle.read(b));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, root.code());
        assertTrue(root.getMessage().contains("cover the container's root"), root.getMessage());
        Files.writeString(b.resolve("config.json"), String.format(mount, "/x/../proc", data));
        assertEquals(List.of(), OciBundle.read(b).volumes(), "/proc is not a volume");
        Files.writeString(b.resolve("config.json"), String.format(mount, "/x\\u0000y", data));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT,
                assertThrows(SandboxException.class, () -> OciBundle.read(b)).code());
    }

    @Test
    void refusesBundlesWithoutArgsButLeavesTerminalsToTheEngine() throws Exception {
        Path b = bundle(dir.resolve("b"), "{\"process\":{\"args\":[]}}");
        assertTrue(assertThrows(SandboxException.class, () -> OciBundle.read(b)).getMessage()
                .contains("no process.args"));
        // whether a container can have a terminal is its engine's to say (WasmTasks.create): the bundle reads
        Files.writeString(b.resolve("config.json"), "{\"process\":{\"terminal\":true,\"args\":[\"/app/m.wasm\"]}}");
        assertEquals("/app/m.wasm", OciBundle.read(b).arg0());
    }
}
