package io.kuasar.driver.quark;

import io.kuasar.driver.kit.ContainerRecord;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A container of a gVisor sandbox: containerd's bundle (rootfs mounted into it), its init and exec processes (see
 * {@link ContainerRecord}); this class adds what runsc needs and how the driver persists it.
 */
final class RunscContainer extends ContainerRecord<GProc> {
    /** True once runsc no longer knows it (deleted by Stop together with the sandbox). */
    volatile boolean deleted;

    RunscContainer(String id, Path bundle, List<Mount> rootfs, GProc init) {
        super(id, bundle, rootfs, init);
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
