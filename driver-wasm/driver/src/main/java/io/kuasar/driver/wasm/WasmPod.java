package io.kuasar.driver.wasm;

import io.kuasar.driver.kit.PodRecord;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A wasm pod: no process of its own (the pid it reports is the node's), just its containers and the network
 * namespace CRI made for it, which process engines join. Mutable fields are guarded by the object's monitor;
 * {@link #lifecycle} serialises start, stop and shutdown.
 */
final class WasmPod extends PodRecord<WasmContainer> {
    final String sandboxer;

    WasmPod(String id, String sandboxer, String namespace, String netnsPath, Instant createdAt,
            Map<String, String> labels) {
        super(id, namespace, netnsPath, "", createdAt, labels);
        this.sandboxer = sandboxer;
    }

    /** The driver's pods on disk, one JSON file each under {@code dir}. */
    static PodStore<WasmPod, PersistedPod> store(Path dir) throws IOException {
        return new PodStore<>(dir, PersistedPod.class, PersistedPod::id, WasmPod::persisted, WasmPod::restore);
    }

    static WasmPod of(SandboxSpec spec, String sandboxer, Instant now) {
        return new WasmPod(spec.id(), sandboxer, spec.namespace(), spec.netnsPath(), now, spec.labels());
    }

    @Override
    public synchronized SandboxStatus status(boolean verbose) {
        Map<String, String> info = new LinkedHashMap<>();
        if (verbose) {
            info.put("netns", netnsPath);
            info.put("containers", String.join(",", containers.keySet()));
        }
        return new SandboxStatus(id, sandboxer, namespace, state, pid, createdAt, exitedAt, "", info);
    }

    synchronized PersistedPod persisted() {
        List<PersistedPod.Container> cs = new ArrayList<>();
        for (WasmContainer c : containers.values()) {
            cs.add(c.persisted());
        }
        return new PersistedPod(PersistedPod.VERSION, id, sandboxer, namespace, netnsPath, state.name(), pid,
                createdAt.toString(), exitedAt == null ? null : exitedAt.toString(), labels, cs);
    }

    static WasmPod restore(PersistedPod p) {
        WasmPod pod = new WasmPod(p.id(), p.sandboxer(), p.namespace(), p.netnsPath(), Instant.parse(p.createdAt()),
                p.labels());
        pod.state = SandboxStatus.State.valueOf(p.state());
        pod.pid = p.pid();
        pod.exitedAt = p.exitedAt() == null ? null : Instant.parse(p.exitedAt());
        for (PersistedPod.Container c : p.containers()) {
            pod.containers.put(c.id(), WasmContainer.restore(c));
        }
        if (pod.exitedAt != null) {
            pod.exit.complete(new ExitStatus(0, 0, pod.exitedAt));
        }
        return pod;
    }
}
