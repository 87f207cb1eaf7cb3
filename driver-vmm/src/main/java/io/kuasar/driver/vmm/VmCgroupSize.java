package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.driver.kit.SandboxCgroup;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;

/**
 * The size of a VM pod's host cgroup (QEMU's) after a container Update: it follows the limits of the pod's live
 * containers, which the guest applies to each container, so what the host accounts for the pod shrinks and grows
 * with them.
 * <ul>
 * <li>memory: the sum of the containers' memory limits, at most the guest's RAM (the guest cannot use more), plus
 * {@link #OVERHEAD_BYTES} (QEMU's own memory, and the guest's kernel, initramfs and agent); the guest's RAM
 * plus that overhead, as at the pod's start, while one of them has no limit;</li>
 * <li>CPU: the sum of their CFS quotas; no quota while one of them has none ({@link SandboxCgroup#sized}).</li>
 * </ul>
 * A container's current limits are the {@code linux.resources} of its guest config.json in the pod share, written
 * at Create and rewritten by each Update, so a restarted driver finds them again.
 */
final class VmCgroupSize {
    /** QEMU's own memory beside the guest's RAM under TCG (translation cache, devices): measured about 160 MB. */
    static final long OVERHEAD_BYTES = 256L << 20;

    private VmCgroupSize() {
    }

    /**
     * The pod's QEMU cgroup, {@code CGROUP_PARENT/kuasar-vmm-ID} (the kit's {@link SandboxCgroup}): the pod's whole
     * cost (guest memory, vCPU threads, emulation) is accounted where Kubernetes looks, and Controller Metrics read it.
     */
    static String path(String parent, String podId) throws SandboxException {
        return SandboxCgroup.path("vmm", parent, podId);
    }

    /** The host cgroup's limits for a guest of {@code guestBytes} RAM whose live containers have {@code resources}. */
    static SandboxCgroup.Limits of(long guestBytes, Collection<JsonNode> resources) {
        return SandboxCgroup.sized(resources, guestBytes, OVERHEAD_BYTES);
    }

    /** The {@code linux.resources} of the guest config.json in {@code ctrShare}; an empty object if it has none. */
    static JsonNode recorded(Path ctrShare) throws IOException {
        return SandboxCgroup.recordedResources(ctrShare);
    }

    /** Replaces the {@code linux.resources} of the guest config.json in {@code ctrShare} (after an Update). */
    static void record(Path ctrShare, JsonNode resources) throws IOException {
        SandboxCgroup.recordResources(ctrShare, resources);
    }
}
