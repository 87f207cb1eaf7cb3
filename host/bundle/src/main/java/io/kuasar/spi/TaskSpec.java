package io.kuasar.spi;

import java.util.List;

/**
 * containerd's request to create a container's task.
 *
 * @param id               container id
 * @param bundle           OCI bundle directory containerd prepared (holds config.json)
 * @param rootfs           mounts that make up the rootfs, to be mounted at {@code bundle/rootfs}
 * @param stdio            where the init process's stdio goes
 * @param checkpoint       checkpoint to restore from, or empty
 * @param parentCheckpoint parent checkpoint, or empty
 * @param options          runtime options
 */
public record TaskSpec(String id, String bundle, List<Mount> rootfs, Stdio stdio, String checkpoint,
                       String parentCheckpoint, TypedData options) {
    public TaskSpec {
        rootfs = rootfs == null ? List.of() : List.copyOf(rootfs);
        checkpoint = checkpoint == null ? "" : checkpoint;
        parentCheckpoint = parentCheckpoint == null ? "" : parentCheckpoint;
    }
}
