package io.kuasar.driver.quark;

import io.kuasar.driver.kit.PodRecord;
import io.kuasar.driver.kit.PodStore;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pod as the driver holds it. Mutable fields are guarded by the object's monitor (held while a snapshot is
 * taken for the state file); {@link #lifecycle} serialises start, stop and shutdown. {@link #containers} are those
 * of a pod whose Task API the host serves (runsc).
 */
final class Pod extends PodRecord<RunscContainer> {
    final String sandboxer;
    final Set<Long> sessions = new LinkedHashSet<>();
    String taskAddress = "";
    String platform = "";
    /** The sandbox's host cgroup (runsc: the sentry and its gofers), empty when it has none. */
    String cgroup = "";
    /** CRI's pod config as Create passed it (DNS, sysctls); null for a pod restored from its state file. */
    PodConfig config;

    Pod(String id, String sandboxer, String namespace, String netnsPath, String hostname, Instant createdAt,
        Map<String, String> labels) {
        super(id, namespace, netnsPath, hostname, createdAt, labels);
        this.sandboxer = sandboxer;
    }

    /** The driver's pods on disk, one JSON file each under {@code dir}. */
    static PodStore<Pod, PersistedPod> store(Path dir) throws IOException {
        return new PodStore<>(dir, PersistedPod.class, PersistedPod::id, Pod::persisted, Pod::restore);
    }

    static Pod of(SandboxSpec spec, String sandboxer, Instant now) {
        String hostname = spec.pod() == null ? "" : spec.pod().hostname();
        Pod pod = new Pod(spec.id(), sandboxer, spec.namespace(), spec.netnsPath(), hostname, now, spec.labels());
        pod.config = spec.pod();
        return pod;
    }

    @Override
    public synchronized SandboxStatus status(boolean verbose) {
        Map<String, String> info = new LinkedHashMap<>();
        if (verbose) {
            info.put("netns", netnsPath);
            info.put("platform", platform);
            info.put("containers", String.join(",", containers.keySet()));
        }
        return new SandboxStatus(id, sandboxer, namespace, state, pid, createdAt, exitedAt, taskAddress, info);
    }

    synchronized PersistedPod persisted() {
        List<PersistedPod.Container> cs = new ArrayList<>();
        for (RunscContainer c : containers.values()) {
            cs.add(c.persisted());
        }
        return new PersistedPod(PersistedPod.VERSION, id, sandboxer, namespace, netnsPath, hostname, state.name(), pid,
                createdAt.toString(), exitedAt == null ? null : exitedAt.toString(), taskAddress, platform, labels,
                new ArrayList<>(sessions), cs, cgroup);
    }

    static Pod restore(PersistedPod p) {
        Pod pod = new Pod(p.id(), p.sandboxer(), p.namespace(), p.netnsPath(), p.hostname(),
                Instant.parse(p.createdAt()), p.labels());
        pod.state = SandboxStatus.State.valueOf(p.state());
        pod.pid = p.pid();
        pod.exitedAt = p.exitedAt() == null ? null : Instant.parse(p.exitedAt());
        pod.taskAddress = p.taskAddress() == null ? "" : p.taskAddress();
        pod.platform = p.platform() == null ? "" : p.platform();
        pod.sessions.addAll(p.sessions());
        pod.cgroup = p.cgroup();
        for (PersistedPod.Container c : p.containers()) {
            pod.containers.put(c.id(), RunscContainer.restore(c));
        }
        if (pod.exitedAt != null) {
            pod.exit.complete(new ExitStatus(0, 0, pod.exitedAt));
        }
        return pod;
    }
}
