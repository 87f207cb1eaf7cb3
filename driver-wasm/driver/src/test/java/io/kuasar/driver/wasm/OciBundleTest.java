package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
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
    void readsArgsEnvPreopensLimitAndCgroup() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path b = bundle(dir.resolve("b"), "{\"process\":{\"args\":[\"m.wasm\",\"x\"],\"env\":[\"A=1\",\"B=2\"],"
                + "\"cwd\":\"/app\"},\"root\":{\"path\":\"rootfs\"},\"mounts\":["
                + "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                + "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"" + dir.resolve("b/config.json") + "\",\"options\":[\"rbind\"]},"
                + "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"" + data + "\",\"options\":[\"rbind\",\"ro\"]}],"
                + "\"linux\":{\"resources\":{\"memory\":{\"limit\":16777216}},\"cgroupsPath\":\"/kuasar5/p/c\"}}");
        OciBundle.Parsed p = OciBundle.read(b, b.resolve("rootfs"));
        assertEquals(b.resolve("rootfs/app/m.wasm").toRealPath(), p.module());
        assertEquals(List.of("m.wasm", "x"), p.args());
        assertEquals(List.of("A=1", "B=2"), p.env());
        assertEquals(16L << 20, p.memoryLimit());
        assertEquals("/kuasar5/p/c", p.cgroupsPath());
        assertEquals(List.of(new OciBundle.Preopen("/", b.resolve("rootfs"), false),
                new OciBundle.Preopen("/data", data, true)), p.preopens(), "no /proc, no file mounts");
        LaunchPlan plan = OciBundle.plan(p, Map.of("/data", dir.resolve("view")));
        assertEquals(dir.resolve("view").toString(), plan.preopens().get("/data"));
        assertEquals(List.of("/data"), plan.readonly());
        assertEquals(Map.of("A", "1", "B", "2"), plan.envMap());
    }

    @Test
    void refusesMissingCorruptEscapingAndTerminalModules() throws Exception {
        Path b = bundle(dir.resolve("b"), "{\"process\":{\"args\":[\"/bad.wasm\"]}}");
        SandboxException corrupt = assertThrows(SandboxException.class, () -> OciBundle.read(b, b.resolve("rootfs")));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, corrupt.code());
        assertTrue(corrupt.getMessage().contains("/bad.wasm") && corrupt.getMessage().contains("not a WebAssembly"),
                corrupt.getMessage());
        Files.createSymbolicLink(b.resolve("rootfs/escape.wasm"), dir.resolve("outside.wasm"));
        Files.write(dir.resolve("outside.wasm"), MODULE_HEAD);
        for (String arg0 : List.of("/nope.wasm", "/../../outside.wasm", "/escape.wasm", "/app")) {
            SandboxException e = assertThrows(SandboxException.class, () -> OciBundle.module(b.resolve("rootfs"), arg0, "/"));
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code(), arg0);
            assertTrue(e.getMessage().contains(arg0), e.getMessage());
        }
        Files.writeString(b.resolve("config.json"), "{\"process\":{\"args\":[]}}");
        assertTrue(assertThrows(SandboxException.class, () -> OciBundle.read(b, b.resolve("rootfs"))).getMessage()
                .contains("no process.args"));
        Files.writeString(b.resolve("config.json"), "{\"process\":{\"terminal\":true,\"args\":[\"/app/m.wasm\"]}}");
        assertEquals(SandboxException.Code.UNIMPLEMENTED,
                assertThrows(SandboxException.class, () -> OciBundle.read(b, b.resolve("rootfs"))).code());
    }
}
