package io.kuasar.driver.quark;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A container of a gVisor sandbox: containerd's bundle (rootfs mounted into it), its init and exec processes.
 * {@link #ops} serialises the Task API calls on it; other containers of the pod proceed in parallel.
 */
final class RunscContainer {
    final String id;
    final Path bundle;
    final List<Mount> rootfs;
    final GProc init;
    final Map<String, GProc> execs = new ConcurrentHashMap<>();
    final ReentrantLock ops = new ReentrantLock();
    volatile boolean rootfsMounted;
    /** True once runsc no longer knows it (deleted by Stop together with the sandbox). */
    volatile boolean deleted;
    volatile boolean paused;

    RunscContainer(String id, Path bundle, List<Mount> rootfs, GProc init) {
        this.id = id;
        this.bundle = bundle;
        this.rootfs = List.copyOf(rootfs);
        this.init = init;
    }

    Path rootfsDir() {
        return bundle.resolve("rootfs");
    }

    /** Exec processes are not persisted: their runsc exec helpers are children of the driver that started them. */
    PersistedPod.Container persisted() {
        ExitStatus e = init.exit();
        return new PersistedPod.Container(id, bundle.toString(), rootfs, rootfsMounted, init.stdio,
                init.status().name(), init.pid(), e == null ? 0 : e.code(),
                e == null ? null : e.exitedAt().toString(), deleted);
    }

    static RunscContainer restore(PersistedPod.Container p) {
        RunscContainer c = new RunscContainer(p.id(), Path.of(p.bundle()), p.rootfs(), new GProc("", p.stdio()));
        ExitStatus exit = p.exitedAt() == null ? null : new ExitStatus(p.pid(), p.exitCode(), Instant.parse(p.exitedAt()));
        c.init.restore(p.pid(), TaskState.Status.valueOf(p.status()), exit);
        c.rootfsMounted = p.rootfsMounted();
        c.deleted = p.deleted();
        return c;
    }
}
