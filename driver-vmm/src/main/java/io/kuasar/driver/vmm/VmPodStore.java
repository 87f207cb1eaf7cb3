package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.JsonRecords;
import io.kuasar.driver.kit.PodTable;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;

/** The driver's VM pods, one JSON file each (see {@link JsonRecords}). */
final class VmPodStore extends JsonRecords<PersistedVmPod> implements PodTable.Records<VmPod> {
    VmPodStore(Path dir) throws IOException {
        super(dir, "sandbox", PersistedVmPod.class, PersistedVmPod::id);
    }

    /** Writes a snapshot taken under the pod's monitor, so concurrent changes reach the disk in order. */
    @Override
    public void save(VmPod pod) throws SandboxException {
        synchronized (pod) {
            save(pod.id, pod.persisted());
        }
    }
}
