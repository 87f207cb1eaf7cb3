package io.kuasar.driver.quark;

import io.kuasar.driver.kit.JsonRecords;
import io.kuasar.driver.kit.PodTable;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;

/** The driver's pods, one JSON file each (see {@link JsonRecords}). */
final class PodStore extends JsonRecords<PersistedPod> implements PodTable.Records<Pod> {
    PodStore(Path dir) throws IOException {
        super(dir, "sandbox", PersistedPod.class, PersistedPod::id);
    }

    /** Writes a snapshot taken under the pod's monitor, so concurrent changes reach the disk in order. */
    @Override
    public void save(Pod pod) throws SandboxException {
        synchronized (pod) {
            save(pod.id, pod.persisted());
        }
    }
}
