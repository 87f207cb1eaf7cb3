package io.kuasar.driver.runc.pod;

import io.kuasar.driver.kit.PodRecord;
import io.kuasar.driver.runc.task.Container;
import io.kuasar.driver.runc.task.RuncTasks;
import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pod as this driver holds it (a {@link PodRecord}: state, exit, containers): what CRI asked for, the namespaces
 * pinned for it. Mutable fields are guarded by the object's monitor, which is also held while its state file is
 * written so snapshots are persisted in order; the exit watcher never takes {@link #lifecycle}.
 */
public final class Sandbox extends PodRecord<Container> {
    public final PodConfig.NamespaceMode pidMode;
    public Path nsDir;
    public PodNamespaces.Holder holder;
    public RuncTasks tasks;
    /** What CRI asked for at create (DNS, sysctls, IPC mode); only Start reads it, so it is not persisted. */
    public PodConfig podConfig;

    public Sandbox(String id, String namespace, String netnsPath, String hostname, PodConfig.NamespaceMode pidMode,
            Instant createdAt, Map<String, String> labels) {
        super(id, namespace, netnsPath, hostname, createdAt, labels);
        this.pidMode = pidMode;
    }

    public static Sandbox of(SandboxSpec spec, Instant now) {
        PodConfig pod = spec.pod();
        Sandbox sb = new Sandbox(spec.id(), spec.namespace(), spec.netnsPath(), pod == null ? "" : pod.hostname(),
                pod == null || pod.pid() == null ? PodConfig.NamespaceMode.CONTAINER : pod.pid(), now, spec.labels());
        sb.podConfig = pod;
        return sb;
    }

    /** The pod uses the node's IPC namespace (hostIPC), as CRI asked at create. */
    public boolean hostIpc() {
        return podConfig != null && podConfig.ipc() == PodConfig.NamespaceMode.NODE;
    }

    public boolean sharesPid() {
        return pidMode == PodConfig.NamespaceMode.POD;
    }

    /**
     * OCI namespace type to the path a container of this pod joins instead of /proc/<served pid>/ns/<type>
     * ({@link NamespaceRewriter#NODE} for one the pod shares with the node), plus the pod's files by container path
     * (see {@link NamespaceRewriter}). CRI gives a host-network pod no netns, and its containers the node's UTS
     * namespace too; a host-IPC pod has no pinned ipc file (see {@link PodNamespaces#pin(Path, String, boolean)}).
     */
    public synchronized Map<String, String> namespaceTargets() {
        Map<String, String> t = new HashMap<>();
        t.put("network", netnsPath.isEmpty() ? NamespaceRewriter.NODE : netnsPath);
        if (nsDir != null) {
            Path ipc = nsDir.resolve(PodNamespaces.IPC);
            t.put("ipc", Files.exists(ipc) ? ipc.toString() : NamespaceRewriter.NODE);
            t.put("uts", netnsPath.isEmpty() ? NamespaceRewriter.NODE : nsDir.resolve(PodNamespaces.UTS).toString());
            t.putAll(PodNamespaces.podPaths(nsDir));
        }
        if (pidMode == PodConfig.NamespaceMode.NODE) {
            t.put("pid", NamespaceRewriter.NODE);
        } else if (holder != null && holder.alive()) {
            t.put("pid", holder.pidNsPath());
        }
        return t;
    }

    @Override
    public synchronized SandboxStatus status(boolean verbose) {
        Map<String, String> info = new LinkedHashMap<>();
        if (verbose) {
            info.put("netns", netnsPath);
            namespaceTargets().forEach((k, v) -> info.put((k.startsWith("/") ? "bind." : "ns.") + k, v));
            info.put("containers", String.join(",", containers.keySet()));
        }
        return new SandboxStatus(id, "runc", namespace, state, pid, createdAt, exitedAt, "", info);
    }

    public synchronized PersistedState.Sandbox persisted() {
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

    public static Sandbox restore(PersistedState.Sandbox p) {
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
