package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;

/**
 * A container Update in a VM pod: the new limits go to the container's cgroup in the guest (runc update there) and
 * the VM's host cgroup is resized to follow the pod's containers ({@link VmCgroupSize}). The host cgroup goes first,
 * so a size the host refuses changes nothing; a refusal in the guest puts the host cgroup back.
 */
final class VmUpdate {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = System.getLogger(VmUpdate.class.getName());

    private final VmPod pod;

    VmUpdate(VmPod pod) {
        this.pod = pod;
    }

    /** Applies {@code resources} (OCI LinuxResources, fit for the guest) to running container {@code c}. */
    void apply(VmContainer c, ObjectNode resources, AgentClient agent) throws SandboxException {
        byte[] encoded;
        SandboxCgroup.Limits before;
        SandboxCgroup.Limits after;
        try {
            encoded = JSON.writeValueAsBytes(resources);
            before = SandboxCgroup.limits(pod.cgroup);
            after = VmCgroupSize.of((long) pod.memoryMb << 20, SandboxCgroup.liveResources(pod.containerList(), c,
                    resources, x -> pod.share().resolve(x.id)));
        } catch (IOException | RuntimeException e) {
            throw SandboxException.internal("cannot size the host cgroup of sandbox " + pod.id + " for " + c.id, e);
        }
        resizeHost(after, "for the update of " + c.id);
        try {
            agent.update(c.id, encoded);
        } catch (SandboxException e) {
            resizeHost(before, "back after the refused update of " + c.id);
            throw e;
        }
        try {
            VmCgroupSize.record(pod.share().resolve(c.id), resources);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "vmm: the new limits of " + c.id + " in sandbox " + pod.id
                    + " are applied but not recorded: a later Update sizes the host cgroup from the old ones", e);
        }
    }

    private void resizeHost(SandboxCgroup.Limits limits, String why) throws SandboxException {
        try {
            SandboxCgroup.apply(pod.cgroup, limits);
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cannot resize the host cgroup "
                    + pod.cgroup + " of sandbox " + pod.id + " to " + limits.memoryBytes() + " bytes of memory and a"
                    + " CPU quota of " + limits.cpuQuotaUs() + " us per " + SandboxCgroup.PERIOD_US + " us " + why
                    + ": " + e.getMessage());
        }
    }
}
