package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.PodCgroup;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * A container Update in a gVisor pod. gVisor runs every container of the pod in its one sandbox process, and runsc
 * 20240729 neither has an {@code update} command nor enforces a container's memory limit inside the sandbox, so the
 * limits are applied where the host can hold them: the sandbox's host cgroup ({@link Pod#cgroup}, where runsc put the
 * sentry and its gofers) is sized to the sum of the pod's live containers' limits plus the sandbox's own overhead
 * ({@link SandboxCgroup#sized}), and the container's new limits are recorded in its bundle's config.json, from which
 * later Updates (and a restarted driver) sum them. A size the kernel refuses changes nothing.
 */
final class RunscUpdate {
    private static final Logger LOG = System.getLogger(RunscUpdate.class.getName());
    /** The sentry's and the gofers' own memory beside the containers' (about 40 MB each pod here), with room. */
    static final long OVERHEAD_BYTES = 128L << 20;

    private final Pod pod;

    RunscUpdate(Pod pod) {
        this.pod = pod;
    }

    /** Applies {@code resources} (OCI LinuxResources) to running container {@code c} of the pod. */
    void apply(RunscContainer c, JsonNode resources) throws SandboxException {
        if (pod.cgroup.isEmpty()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cannot update container " + c.id
                    + ": gVisor sandbox " + pod.id + " was started before this driver gave sandboxes a cgroup of"
                    + " their own, so nothing on the host can hold its limits");
        }
        SandboxCgroup.Limits limits;
        try {
            limits = SandboxCgroup.sized(SandboxCgroup.liveResources(pod.containerList(), c, resources,
                    x -> x.bundle), -1, OVERHEAD_BYTES);
            SandboxCgroup.apply(pod.cgroup, limits);
        } catch (IOException | RuntimeException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cannot resize the cgroup "
                    + pod.cgroup + " of gVisor sandbox " + pod.id + " for the update of " + c.id + ": "
                    + e.getMessage(), e);
        }
        try {
            SandboxCgroup.recordResources(c.bundle, resources);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "runsc: the new limits of " + c.id + " in sandbox " + pod.id
                    + " are applied but not recorded: a later Update sizes the cgroup from the old ones", e);
        }
    }

    /**
     * Controller Update's pod resources, written to the sandbox's cgroup: a cap on the sentry and so on all the pod's
     * containers together (memory, cpu, pids; anything else is refused naming it). A later container Update sizes
     * the cgroup to the containers' limits again.
     */
    static void capSandbox(Pod pod, JsonNode resources) throws SandboxException {
        if (pod.cgroup.isEmpty()) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox " + pod.id
                    + ": it was started before gVisor sandboxes had a cgroup of their own");
        }
        PodCgroup.apply(pod.id, pod.cgroup, resources);
    }
}
