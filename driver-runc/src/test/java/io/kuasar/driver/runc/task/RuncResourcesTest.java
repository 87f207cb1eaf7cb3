package io.kuasar.driver.runc.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.runc.process.Runc;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TypedData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Update's checks and what reaches runc, with a stand-in runc that records its arguments and resources file. */
class RuncResourcesTest {
    private static final String TYPE = "types.containerd.io/" + io.kuasar.driver.kit.LinuxResources.TYPE;

    @TempDir
    Path tmp;
    private Path calls;
    private RuncResources resources;
    private Container running;

    @BeforeEach
    void fakeRunc() throws Exception {
        calls = tmp.resolve("calls");
        Path runc = tmp.resolve("runc");
        // Records "args" and the resources file's content (the file is removed after the call).
        Files.writeString(runc, "#!/bin/sh\necho \"$@\" >> " + calls + "\nfor a; do [ -f \"$a\" ] && cat \"$a\" >> "
                + calls + "; done\nexit 0\n");
        Files.setPosixFilePermissions(runc, PosixFilePermissions.fromString("rwx------"));
        resources = new RuncResources(new Runc(runc.toString(), tmp.resolve("root"), tmp.resolve("log")));
        running = new Container("c1", tmp, List.of(), new Proc("", Stdio.NONE));
        running.init.created(4242);
        running.init.running();
    }

    @Test
    void resourcesReachRuncUpdateAsTheJsonContainerdSent() throws Exception {
        String json = "{\"memory\":{\"limit\":67108864},\"cpu\":{\"shares\":512},\"pids\":{\"limit\":42}}";
        resources.update(running, new TypedData(TYPE, json.getBytes(StandardCharsets.UTF_8)), tmp);
        List<String> lines = Files.readAllLines(calls);
        assertTrue(lines.get(0).matches(".*update --resources \\S+resources.json c1$"), lines.get(0));
        assertEquals(json, lines.get(1));
        assertFalse(Files.exists(tmp.resolve("resources.json")), "the resources file is removed");
    }

    @Test
    void badResourcesAreRefusedBeforeRuncRuns() {
        for (TypedData bad : List.of(TypedData.EMPTY, new TypedData("types.containerd.io/other/Thing", new byte[] {1}),
                new TypedData(TYPE, "not json".getBytes(StandardCharsets.UTF_8)),
                new TypedData(TYPE, "[1,2]".getBytes(StandardCharsets.UTF_8)))) {
            SandboxException e = assertThrows(SandboxException.class, () -> resources.update(running, bad, tmp));
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code(), e.getMessage());
            assertTrue(e.getMessage().contains("c1"), e.getMessage());
        }
        assertFalse(Files.exists(calls), "runc never ran");
    }

    @Test
    void aContainerThatIsNotRunningCannotBeUpdated() {
        Container created = new Container("c2", tmp, List.of(), new Proc("", Stdio.NONE));
        SandboxException e = assertThrows(SandboxException.class, () -> resources.update(created,
                new TypedData(TYPE, "{}".getBytes(StandardCharsets.UTF_8)), tmp));
        assertEquals(SandboxException.Code.FAILED_PRECONDITION, e.code());
        assertFalse(Files.exists(calls));
    }
}
