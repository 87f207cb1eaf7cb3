package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.ContainerRecord;
import io.kuasar.spi.Mount;
import java.nio.file.Path;
import java.util.List;

/** A container of a VM pod: containerd's bundle on the host, its copy in the pod share, its processes. */
final class VmContainer extends ContainerRecord<VmProcess> {
    VmContainer(String id, Path bundle, List<Mount> rootfs, VmProcess init) {
        super(id, bundle, rootfs, init);
    }
}
