package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A WASI module attacks its confinement through CRI, on every wasm handler. The image (scripts/images.d/wasm.sh)
 * brings links that point out of its root (/hostroot -> /, /secret -> a root-only host file, /up -> ../../..,
 * chained, dangling and looping links, a link into a volume); the volume brings links out of itself; the module
 * makes links of its own at run time and reads, writes, lists, renames, unlinks and stats through all of them.
 *
 * <p>Every answer must be what the same layout gives inside a runc container (the container's own files: its
 * /etc/greeting, its /tmp), or a WASI error. Never a host file: the host's root-only secret is never printed or
 * listed, nothing appears in the host's /tmp, and a host file the module tries to unlink or touch is untouched.
 */
class WasmConfinementTest extends CriTestBase {
    private static final String GREETING = "hello from the wasm image";
    private static final Path SECRET = Path.of("/root/kuasar-wasm-secret");
    /** An answer whose text is not compared (the host-side checks below cover it). */
    private static final String ANY = "(any)";

    private String token;
    private String secret;
    private Path hostVictim;

    @BeforeEach
    void plantHostFiles() throws IOException {
        token = "kuasar-escape-" + UUID.randomUUID().toString().substring(0, 8);
        secret = "host-secret-" + UUID.randomUUID();
        Files.writeString(SECRET, secret);
        Files.setPosixFilePermissions(SECRET, PosixFilePermissions.fromString("rw-------"));
        hostVictim = Path.of("/tmp", token + "-victim");
        Files.writeString(hostVictim, "host file");
        Files.setLastModifiedTime(hostVictim, FileTime.fromMillis(1_000_000_000_000L));
    }

    @AfterEach
    void removeHostFiles() throws IOException {
        Files.deleteIfExists(SECRET);
        Files.deleteIfExists(hostVictim);
    }

    @ParameterizedTest
    @ValueSource(strings = {"kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge"})
    void noLinkLeadsAModuleOutOfItsContainer(String handler) throws IOException {
        HostTools.requireHandler(handler);
        Path vol = Files.createDirectories(logRoot.resolve("vol"));
        Files.writeString(vol.resolve("inside.txt"), "volume content");
        Files.createSymbolicLink(vol.resolve("up"), Path.of("../../.."));
        Files.createSymbolicLink(vol.resolve("abs"), Path.of("/etc/greeting"));
        Files.createSymbolicLink(vol.resolve("hostsecret"), SECRET);

        // action -> what runc gives for this layout (the container's own view); a WASI error is also fine
        Map<List<String>, String> runc = new LinkedHashMap<>();
        runc.put(List.of("read", "/hostroot/etc/greeting"), "read /hostroot/etc/greeting: " + GREETING);
        runc.put(List.of("read", "/secret"), null);
        runc.put(List.of("read", "/hostroot/root/kuasar-wasm-secret"), null);
        runc.put(List.of("read", "/up/etc/greeting"), "read /up/etc/greeting: " + GREETING);
        runc.put(List.of("read", "/dangling"), null);
        runc.put(List.of("read", "/loop1"), null);
        runc.put(List.of("read", "/tovol"), "read /tovol: volume content");
        runc.put(List.of("read", "/mnt/vol/up/etc/greeting"), "read /mnt/vol/up/etc/greeting: " + GREETING);
        runc.put(List.of("read", "/mnt/vol/abs"), "read /mnt/vol/abs: " + GREETING);
        runc.put(List.of("read", "/mnt/vol/hostsecret"), null);
        runc.put(List.of("write", "/hostroot/tmp/" + token, "x"), "wrote /hostroot/tmp/" + token);
        runc.put(List.of("write", "/chain1/" + token + "-chained", "y"), "wrote /chain1/" + token + "-chained");
        runc.put(List.of("read", "/tmp/" + token + "-chained"), "read /tmp/" + token + "-chained: y");
        runc.put(List.of("symlink", "/", "/tmp/mine"), "symlink /tmp/mine: ok");
        runc.put(List.of("read", "/tmp/mine/root/kuasar-wasm-secret"), null);
        runc.put(List.of("read", "/tmp/mine/etc/greeting"), "read /tmp/mine/etc/greeting: " + GREETING);
        runc.put(List.of("symlink", SECRET.toString(), "/tmp/mysecret"), "symlink /tmp/mysecret: ok");
        runc.put(List.of("read", "/tmp/mysecret"), null);
        runc.put(List.of("link", "/secret", "/tmp/hard"), "link /tmp/hard: ok"); // link(2) links the link itself
        runc.put(List.of("read", "/tmp/hard"), null);
        runc.put(List.of("link", "/hostroot/root/kuasar-wasm-secret", "/tmp/hard2"), null);
        runc.put(List.of("mkdir", "/hostroot/tmp/" + token + "-dir"), "mkdir /hostroot/tmp/" + token + "-dir: ok");
        runc.put(List.of("rename", "/tmp/" + token + "-chained", "/hostroot/tmp/" + token + "-moved"),
                "rename /hostroot/tmp/" + token + "-moved: ok");
        runc.put(List.of("unlink", "/hostroot/tmp/" + hostVictim.getFileName()), null);
        runc.put(List.of("touch", "/hostroot/tmp/" + hostVictim.getFileName()), null);
        runc.put(List.of("stat", "/hostroot/root/kuasar-wasm-secret"), null);
        runc.put(List.of("ls", "/hostroot/root"), "ls /hostroot/root:");
        runc.put(List.of("ls", "/up/tmp"), ANY); // the container's /tmp: checked below, the host's never shows
        runc.put(List.of("read", "/etc/greeting"), "read /etc/greeting: " + GREETING);

        List<String> args = new ArrayList<>(List.of("quiet"));
        runc.keySet().forEach(args::addAll);
        args.addAll(List.of("exit", "0"));
        PodSandboxConfig pod = podConfig("w-confine");
        String podId = runPod(pod, handler);
        ContainerConfig cfg = WasmPodTest.wasm("confine", args.toArray(String[]::new)).toBuilder()
                .addMounts(io.kuasar.api.cri.v1.Mount.newBuilder().setContainerPath("/mnt/vol")
                        .setHostPath(vol.toString()))
                .build();
        String c = cri.runContainer(podId, pod, cfg);
        assertEquals(0, cri.waitForState(c, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());
        String log = cri.waitForLog(c, "read /etc/greeting", WAIT);
        System.out.println(handler + ", what the confinement attacks got:\n" + log);

        List<Runnable> checks = new ArrayList<>();
        List<String> lines = log.lines().toList();
        for (Map.Entry<List<String>, String> e : runc.entrySet()) {
            List<String> a = e.getKey();
            String subject = a.get(0).equals("symlink") || a.get(0).equals("link") || a.get(0).equals("rename")
                    ? a.get(2) : a.get(1);
            String prefix = a.get(0) + " " + subject + ":";
            String wrote = "wrote " + subject; // what the module prints for a write that worked
            String line = lines.stream().filter(l -> l.startsWith(prefix) || l.equals(wrote)).findFirst().orElse(null);
            checks.add(() -> {
                assertTrue(line != null, () -> "no answer to " + a + " in:\n" + log);
                boolean failed = line.endsWith(": failed") || line.contains(": failed (");
                assertTrue(failed || e.getValue() == ANY || line.equals(e.getValue()),
                        () -> a + " got '" + line + "'; runc gives " + (e.getValue() == null ? "an error"
                                : "'" + e.getValue() + "'") + " (or a WASI error)");
            });
        }
        try (var hostTmp = Files.list(Path.of("/tmp"))) {
            List<String> planted = hostTmp.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(token) && !n.endsWith("-victim")).toList();
            checks.add(() -> assertEquals(List.of(), planted, "made in the host's /tmp"));
        }
        checks.add(() -> assertFalse(log.contains(secret), "the host's root-only secret was read"));
        checks.add(() -> assertFalse(log.lines().anyMatch(l -> l.startsWith("ls ") && l.contains(hostVictim
                .getFileName().toString())), "the host's /tmp was listed"));
        checks.add(() -> assertTrue(Files.exists(hostVictim), "the host's file was unlinked"));
        checks.add(() -> assertEquals(FileTime.fromMillis(1_000_000_000_000L), lastModified(hostVictim),
                "the host's file was touched"));
        assertAll(checks.stream().map(r -> (org.junit.jupiter.api.function.Executable) r::run));
    }

    private static FileTime lastModified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return null;
        }
    }
}
