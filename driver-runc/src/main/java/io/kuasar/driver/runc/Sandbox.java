package io.kuasar.driver.runc;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A pod as this driver holds it: what CRI asked for, the namespaces pinned for it, its containers. Mutable fields
 * are guarded by the object's monitor, which is also held while its state file is written so snapshots are
 * persisted in order.
 */
final class Sandbox {
    final String id;
    final String namespace;
    final String netnsPath;
    final String hostname;
    final PodConfig.NamespaceMode pidMode;
    final Instant createdAt;
    final Map<String, String> labels;
    final Map<String, Container> containers = new LinkedHashMap<>();
    final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    /** Serialises start/stop/shutdown of this sandbox; never held by the exit watcher, unlike the monitor. */
    final java.util.concurrent.locks.ReentrantLock lifecycle = new java.util.concurrent.locks.ReentrantLock();
    SandboxStatus.State state = SandboxStatus.State.CREATED;
    long pid;
    Instant exitedAt;
    Path nsDir;
    PodNamespaces.Holder holder;
    RuncTasks tasks;

    Sandbox(String id, String namespace, String netnsPath, String hostname, PodConfig.NamespaceMode pidMode,
            Instant createdAt, Map<String, String> labels) {
        this.id = id;
        this.namespace = namespace;
        this.netnsPath = netnsPath == null ? "" : netnsPath;
        this.hostname = hostname == null ? "" : hostname;
        this.pidMode = pidMode;
        this.createdAt = createdAt;
        this.labels = Map.copyOf(labels);
    }

    static Sandbox of(SandboxSpec spec, Instant now) {
        PodConfig pod = spec.pod();
        return new Sandbox(spec.id(), spec.namespace(), spec.netnsPath(), pod == null ? "" : pod.hostname(),
                pod == null || pod.pid() == null ? PodConfig.NamespaceMode.CONTAINER : pod.pid(), now, spec.labels());
    }

    boolean sharesPid() {
        return pidMode == PodConfig.NamespaceMode.POD;
    }

    synchronized Container container(String containerId) {
        return containers.get(containerId);
    }

    synchronized List<Container> containerList() {
        return new ArrayList<>(containers.values());
    }

    /** OCI namespace type to the path a container of this pod joins instead of /proc/<served pid>/ns/<type>. */
    synchronized Map<String, String> namespaceTargets() {
        Map<String, String> t = new HashMap<>();
        if (!netnsPath.isEmpty()) {
            t.put("network", netnsPath);
        }
        if (nsDir != null) {
            t.put("ipc", nsDir.resolve(PodNamespaces.IPC).toString());
            t.put("uts", nsDir.resolve(PodNamespaces.UTS).toString());
        }
        if (holder != null && holder.alive()) {
            t.put("pid", holder.pidNsPath());
        }
        return t;
    }

    synchronized SandboxStatus status(boolean verbose) {
        Map<String, String> info = new LinkedHashMap<>();
        if (verbose) {
            info.put("netns", netnsPath);
            namespaceTargets().forEach((k, v) -> info.put("ns." + k, v));
            info.put("containers", String.join(",", containers.keySet()));
        }
        return new SandboxStatus(id, "runc", namespace, state, pid, createdAt, exitedAt, "", info);
    }

    synchronized PersistedState.Sandbox persisted() {
        List<PersistedState.Container> cs = new ArrayList<>();
        for (Container c : containers.values()) {
            cs.add(c.persisted());
        }
        PodNamespaces.Holder h = holder;
        return new PersistedState.Sandbox(PersistedState.VERSION, id, namespace, netnsPath, hostname, pidMode.name(),
                state.name(), pid, createdAt.toString(), exitedAt == null ? null : exitedAt.toString(),
                nsDir == null ? "" : nsDir.toString(), h == null ? 0 : h.pid(), h == null ? 0 : h.startTime(),
                h == null ? 0 : h.init(), h == null ? 0 : h.initStartTime(), labels, cs);
    }

    static Sandbox restore(PersistedState.Sandbox p) {
        Sandbox s = new Sandbox(p.id(), p.namespace(), p.netnsPath(), p.hostname(),
                PodConfig.NamespaceMode.valueOf(p.pidMode()), Instant.parse(p.createdAt()), p.labels());
        s.state = SandboxStatus.State.valueOf(p.state());
        s.pid = p.pid();
        s.exitedAt = p.exitedAt() == null ? null : Instant.parse(p.exitedAt());
        s.nsDir = p.nsDir() == null || p.nsDir().isEmpty() ? null : Path.of(p.nsDir());
        if (p.holderPid() > 0) {
            s.holder = new PodNamespaces.Holder(p.holderPid(), p.holderStartTime(), p.holderInit(),
                    p.holderInitStartTime());
        }
        for (PersistedState.Container c : p.containers()) {
            s.containers.put(c.id(), Container.restore(c));
        }
        if (s.exitedAt != null) {
            s.exit.complete(new ExitStatus(0, 0, s.exitedAt));
        }
        return s;
    }
}
