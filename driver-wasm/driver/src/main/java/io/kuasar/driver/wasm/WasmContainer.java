package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.ContainerRecord;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.Mount;
import io.kuasar.spi.TaskState;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A wasm container: containerd's bundle (rootfs mounted into it), its launch plan, and what the engine that runs
 * it needs to find it again after a driver restart (the engine's run key, or the WasmEdge process's pid and start
 * time).
 */
final class WasmContainer extends ContainerRecord<WasmProc> {
    volatile LaunchPlan plan;
    /** Process engines: the host process's start time (clock ticks, /proc/PID/stat field 22), for keeper records. */
    volatile long startTime;
    /** Why it ended, for people: "Completed", "Error", "OOMKilled", "Killed", or a sentence. */
    volatile String reason = "";
    /** Signal of the first Kill, so an exit caused by it reports 128 + that signal. */
    volatile int killSignal;

    WasmContainer(String id, Path bundle, List<Mount> rootfs, WasmProc init) {
        super(id, bundle, rootfs, init);
    }

    PersistedPod.Container persisted() {
        ExitStatus e = init.exit();
        return new PersistedPod.Container(id, bundle.toString(), rootfs, rootfsMounted, init.stdio, plan,
                init.status().name(), init.pid(), startTime, e == null ? 0 : e.code(),
                e == null ? null : e.exitedAt().toString(), reason);
    }

    static WasmContainer restore(PersistedPod.Container p) {
        WasmContainer c = new WasmContainer(p.id(), Path.of(p.bundle()), p.rootfs(), new WasmProc(p.stdio()));
        ExitStatus exit = p.exitedAt() == null ? null
                : new ExitStatus(p.pid(), p.exitCode(), Instant.parse(p.exitedAt()));
        c.init.restore(p.pid(), TaskState.Status.valueOf(p.status()), exit);
        c.rootfsMounted = p.rootfsMounted();
        c.plan = p.plan();
        c.startTime = p.startTime();
        c.reason = p.reason() == null ? "" : p.reason();
        return c;
    }
}
