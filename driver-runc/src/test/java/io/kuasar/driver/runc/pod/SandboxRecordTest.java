package io.kuasar.driver.runc.pod;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.runc.task.Container;
import io.kuasar.driver.runc.task.Proc;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.Stdio;
import io.kuasar.spi.TaskState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sandbox record and its state file, through the kit's {@link PodStore} as the driver keeps it. */
class SandboxRecordTest {
    private static PodStore<Sandbox, PersistedState.Sandbox> store(Path dir) throws Exception {
        return new PodStore<>(dir, PersistedState.Sandbox.class, PersistedState.Sandbox::id, Sandbox::persisted);
    }

    @Test
    void sandboxSurvivesARoundTrip(@TempDir Path tmp) throws Exception {
        Sandbox sb = new Sandbox("pod-1", "k8s.io", "/var/run/netns/cni-1", "web-0", PodConfig.NamespaceMode.POD,
                Instant.parse("2026-01-02T03:04:05.123456789Z"), Map.of("a", "b"));
        sb.state = SandboxStatus.State.READY;
        sb.pid = 99;
        sb.nsDir = tmp.resolve("ns/pod-1");
        sb.holder = new PodNamespaces.Holder(100, 5000, 101, 5001);
        Container c = new Container("c1", tmp.resolve("bundle"),
                List.of(new Mount("overlay", "overlay", "", List.of("lowerdir=/l", "upperdir=/u", "workdir=/w"))),
                new Proc("", new Stdio("", "/fifo/out", "/fifo/err", false)));
        c.rootfsMounted = true;
        c.init.created(1234, 777);
        c.init.running();
        Proc exec = new Proc("e1", new Stdio("", "/fifo/e1", "", false));
        exec.created(1240, 790);
        exec.running();
        exec.recordExit(new ExitStatus(1240, 3, Instant.parse("2026-01-02T03:04:06Z")));
        c.execs.put("e1", exec);
        c.execs.put("e2", new Proc("e2", Stdio.NONE));
        sb.containers.put(c.id, c);

        Path dir = tmp.resolve("state");
        PodStore<Sandbox, PersistedState.Sandbox> store = store(dir);
        store.save(sb);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
        List<PersistedState.Sandbox> loaded = store.loadAll();
        assertEquals(1, loaded.size());
        assertEquals(sb.persisted(), loaded.get(0), "the JSON form maps back to the same records");

        Sandbox back = Sandbox.restore(loaded.get(0));
        assertEquals(sb.persisted(), back.persisted());
        assertEquals(SandboxStatus.State.READY, back.state);
        assertEquals(101, back.holder.init());
        Container bc = back.container("c1");
        assertTrue(bc.rootfsMounted);
        assertEquals(1234, bc.init.pid());
        assertEquals(TaskState.Status.RUNNING, bc.init.status());
        assertNull(bc.init.exit());
        assertEquals(3, bc.execs.get("e1").exit().code());
        assertTrue(bc.execs.get("e1").waitFor().isDone(), "a recorded exit completes Wait at once");
        assertEquals(TaskState.Status.CREATED, bc.execs.get("e2").status());
        assertEquals("/fifo/out", bc.init.stdio.stdout());
    }

    @Test
    void saveReplacesAtomicallyAndRemoveDeletes(@TempDir Path tmp) throws Exception {
        PodStore<Sandbox, PersistedState.Sandbox> store = store(tmp);
        Sandbox sb = new Sandbox("p", "", "", "", PodConfig.NamespaceMode.CONTAINER, Instant.now(), Map.of());
        store.save(sb);
        sb.state = SandboxStatus.State.NOTREADY;
        sb.exitedAt = Instant.now();
        store.save(sb);
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(tmp.resolve("p.json")), files.toList(), "only the state file, no temp files");
        }
        assertEquals("NOTREADY", store.loadAll().get(0).state());
        assertTrue(Sandbox.restore(store.loadAll().get(0)).exit.isDone());
        store.remove("p");
        assertFalse(store.exists("p"));
    }

    @Test
    void hostileIdsNeverNameAFile(@TempDir Path tmp) throws Exception {
        PodStore<Sandbox, PersistedState.Sandbox> store = store(tmp);
        assertThrows(SandboxException.class, () -> store.exists("../etc/passwd"));
        Files.writeString(tmp.resolve("broken.json"), "{not json");
        assertTrue(store.loadAll().isEmpty(), "an unreadable file is skipped, not fatal");
    }

    /** A node upgraded from 0.1 (the driver's own StateStore) must find its running pods in the files it left. */
    @Test
    void aStateFileOfTheEarlierVersionIsRecovered(@TempDir Path tmp) throws Exception {
        try (var old = SandboxRecordTest.class.getResourceAsStream("/state-0.1/pod-old.json")) {
            Files.write(tmp.resolve("pod-old.json"), old.readAllBytes());
        }
        List<PersistedState.Sandbox> loaded = store(tmp).loadAll();
        assertEquals(1, loaded.size());
        Sandbox sb = Sandbox.restore(loaded.get(0));
        assertEquals(SandboxStatus.State.READY, sb.state);
        assertEquals(4242, sb.pid);
        assertEquals(PodConfig.NamespaceMode.POD, sb.pidMode);
        assertEquals(101, sb.holder.init());
        assertEquals(Map.of("app", "web"), sb.labels);
        Container c = sb.container("c1");
        assertEquals(1234, c.init.pid());
        assertEquals(777, c.init.startTime());
        assertEquals(TaskState.Status.RUNNING, c.init.status());
        assertTrue(c.rootfsMounted);
        assertEquals(List.of("lowerdir=/l", "upperdir=/u", "workdir=/w"), c.rootfs.get(0).options());
        assertEquals(3, c.execs.get("e1").exit().code());
        assertFalse(sb.exit.isDone(), "a running pod has not exited");

        store(tmp).save(sb);
        assertEquals(loaded.get(0), store(tmp).loadAll().get(0), "written back in the same form");
    }
}
