package io.kuasar.driver.quark;

import io.kuasar.driver.kit.ContainerRecord;
import io.kuasar.driver.kit.FifoHold;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A container of a gVisor sandbox: containerd's bundle (rootfs mounted into it), its init and exec processes (see
 * {@link ContainerRecord}); this class adds what runsc needs and how the driver persists it.
 */
final class RunscContainer extends ContainerRecord<GProc> {
    /** True once runsc no longer knows it (deleted by Stop together with the sandbox). */
    volatile boolean deleted;
    /** Read from the state file of an earlier driver instance or JVM, rather than made by this instance. */
    volatile boolean restored;
    /** The init's output FIFOs, held while it runs when it was started after a crash (see RunscTasks.start). */
    volatile FifoHold outputHold;

    RunscContainer(String id, Path bundle, List<Mount> rootfs, GProc init) {
        super(id, bundle, rootfs, init);
    }

    PersistedPod.Container persisted() {
        ExitStatus e = init.exit();
        List<PersistedPod.Exec> xs = new ArrayList<>();
        for (GProc x : execs.values()) {
            ExitStatus xe = x.exit();
            xs.add(new PersistedPod.Exec(x.execId, x.stdio, x.status().name(), x.pid(), x.helperStart,
                    xe == null ? 0 : xe.code(), xe == null ? null : xe.exitedAt().toString()));
        }
        return new PersistedPod.Container(id, bundle.toString(), rootfs, rootfsMounted, init.stdio,
                init.status().name(), init.pid(), e == null ? 0 : e.code(),
                e == null ? null : e.exitedAt().toString(), deleted, xs);
    }

    static RunscContainer restore(PersistedPod.Container p) {
        RunscContainer c = new RunscContainer(p.id(), Path.of(p.bundle()), p.rootfs(), new GProc("", p.stdio()));
        c.init.restore(p.pid(), TaskState.Status.valueOf(p.status()), exit(p.pid(), p.exitCode(), p.exitedAt()));
        for (PersistedPod.Exec x : p.execs()) {
            GProc g = new GProc(x.execId(), x.stdio());
            g.restore(x.pid(), TaskState.Status.valueOf(x.status()), exit(x.pid(), x.exitCode(), x.exitedAt()));
            g.helperStart = x.helperStart();
            c.execs.put(x.execId(), g);
        }
        c.rootfsMounted = p.rootfsMounted();
        c.deleted = p.deleted();
        c.restored = true;
        return c;
    }

    private static ExitStatus exit(long pid, int code, String exitedAt) {
        return exitedAt == null ? null : new ExitStatus(pid, code, Instant.parse(exitedAt));
    }
}
