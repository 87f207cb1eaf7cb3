package io.kuasar.driver.wasm;

import io.kuasar.spi.Mount;
import io.kuasar.spi.Stdio;
import java.util.List;
import java.util.Map;

/** The JSON shape of one pod's state file; instants as ISO-8601 strings, null when unset. */
record PersistedPod(int version, String id, String sandboxer, String namespace, String netnsPath, String state,
                    long pid, String createdAt, String exitedAt, Map<String, String> labels,
                    List<Container> containers) {
    static final int VERSION = 1;

    PersistedPod {
        labels = labels == null ? Map.of() : labels;
        containers = containers == null ? List.of() : containers;
    }

    /** plan is null while Create has not finished (the container is then removed on recovery). */
    record Container(String id, String bundle, List<Mount> rootfs, boolean rootfsMounted, Stdio stdio,
                     LaunchPlan plan, String status, long pid, long startTime, int exitCode, String exitedAt,
                     String reason) {
        Container {
            rootfs = rootfs == null ? List.of() : rootfs;
        }
    }
}
