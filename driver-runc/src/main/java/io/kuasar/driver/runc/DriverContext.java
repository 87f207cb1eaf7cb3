package io.kuasar.driver.runc;

import io.kuasar.driver.kit.PodStore;
import io.kuasar.driver.runc.pod.NamespaceRewriter;
import io.kuasar.driver.runc.pod.PersistedState;
import io.kuasar.driver.runc.pod.Sandbox;
import io.kuasar.driver.runc.process.ExitWatcher;
import io.kuasar.driver.runc.process.Runc;
import io.kuasar.spi.OrphanExits;
import io.kuasar.spi.TaskEvents;
import java.nio.file.Path;

/**
 * What every sandbox's task service shares with the driver: the runc CLI, the state store, the event sink, the
 * single exit watcher, and the pid that sandbox Start returns (this JVM's).
 *
 * @param workRoot    per-container work files (pid files, exec process specs) live under workRoot/sandbox/container
 * @param servedPid   the pid returned by Start, whose /proc/PID/ns paths CRI writes into container specs
 * @param orphans     exits of processes that are no longer this JVM's children (their JVM died), from the host
 * @param freshJvm    this is the first driver instance in this JVM: its recovery follows a host (re)start, so
 *                    nothing persisted can be in the middle of being made by another instance
 */
public record DriverContext(Runc runc, PodStore<Sandbox, PersistedState.Sandbox> store, TaskEvents events,
                            ExitWatcher watcher, NamespaceRewriter rewriter, Path workRoot, long servedPid,
                            OrphanExits orphans, boolean freshJvm) {
}
