package io.kuasar.driver.runc.task;

import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.CgroupMetrics;
import io.kuasar.driver.kit.Cgroups;
import io.kuasar.driver.kit.LinuxResources;
import io.kuasar.driver.runc.process.Runc;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskState;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A container's cgroup as the Task API sees it: Stats (the cgroup files as containerd's metrics), Update (new
 * limits through {@code runc update}) and whether the memory cgroup's OOM killer struck.
 *
 * <p>OOM, the approach: when a process of the container exits, the memory cgroup's {@code oom_kill} counter (v1
 * memory.oom_control, v2 memory.events) is compared with the last value seen; if it grew, TaskOOM is published
 * before the exit, and CRI then gives the container the exit reason OOMKilled. The kernel counts the kill before the
 * victim dies, and the cgroup exists until {@code runc delete}, so the check at exit cannot miss a kill that ended
 * the container. Unlike an eventfd on memory.oom_control this needs no thread or fd per container and survives a
 * restart of the driver as is. The cost: an OOM kill of a child that leaves the container running is reported at
 * the next exit of one of the container's processes rather than at once.
 */
final class RuncResources {

    private final Runc runc;

    RuncResources(Runc runc) {
        this.runc = runc;
    }

    /** The container's cgroup metrics; FAILED_PRECONDITION once its cgroup is gone. */
    TypedData stats(Container c) throws SandboxException {
        String path = c.cgroupPath();
        try {
            return CgroupMetrics.read(Cgroups.host(), path);
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "no stats for container " + c.id + ": " + e.getMessage());
        }
    }

    /**
     * Applies containerd's LinuxResources (CRI's UpdateContainerResources) with {@code runc update}. The document is
     * checked first: a wrong type or a value that is not a JSON object is INVALID_ARGUMENT and nothing changes.
     */
    void update(Container c, TypedData resources, Path workDir) throws SandboxException {
        LinuxResources.parse(c.id, resources);
        if (c.init.status() != TaskState.Status.RUNNING && c.init.status() != TaskState.Status.PAUSED) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "container " + c.id + " is not running");
        }
        Path file = workDir.resolve("resources.json");
        try {
            AtomicFiles.writeAtomically(file, resources.value());
            runc.update(c.id, file);
        } catch (IOException e) {
            throw SandboxException.internal("cannot write the resources of " + c.id, e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // removed with the container's work dir anyway
            }
        }
    }

    /** True when the OOM killer killed a process of {@code c} since the last call (see the class comment). */
    static boolean oomKilledSince(Container c) {
        try {
            return c.newOomKills(Cgroups.host().oomKills(c.cgroupPath()));
        } catch (IOException | SandboxException e) {
            return false; // no cgroup to tell: report no OOM rather than fail the exit
        }
    }
}
