package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.SandboxCgroup;

/**
 * The pod's QEMU in the pod's cgroup, {@code CGROUP_PARENT/kuasar-vmm-ID} (the kit's {@link SandboxCgroup}), so the
 * pod's whole cost (guest memory, vCPU threads, emulation) is accounted where Kubernetes looks (and where Controller
 * Metrics read it). The memory limit is the guest's memory plus QEMU's own overhead; a container Update resizes it
 * and the CPU quota ({@link VmCgroupSize}).
 */
final class PodCgroup {
    /** QEMU's own memory beside the guest's RAM under TCG (translation cache, devices): measured about 160 MB. */
    static final long OVERHEAD_BYTES = 256L << 20;

    private PodCgroup() {
    }

    static String path(String parent, String podId) {
        return SandboxCgroup.path("vmm", parent, podId);
    }
}
