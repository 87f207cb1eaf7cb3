package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The pod's cgroup: CRI's {@code linux.cgroup_parent} of the pod, under which the cgroupfs driver puts each of its
 * containers ({@code PARENT/ID}); the Kubelet gives every pod its own ({@code kubepods/.../podUID}). Controller
 * Metrics read it as containerd's CRI reads a pod's cgroup for PodSandboxStats (cgroup metrics of the cgroup
 * parent), and a Controller Update writes the pod's {@code linux.resources} to it, which caps all its containers
 * together. For every driver whose pod processes live below CRI's cgroup parent (kit 1.10).
 */
public final class PodCgroup {
    /** The keys of linux.resources a pod cgroup takes; any other one set is refused, naming it. */
    private static final Map<String, Set<String>> APPLIED = Map.of("memory", Set.of("limit"),
            "cpu", Set.of("shares", "quota", "period"), "pids", Set.of("limit"));

    private PodCgroup() {
    }

    /**
     * The pod's cgroup path: its cgroup parent when CRI gave one at Create (known until the driver restarts), else
     * the parent of its first container's {@code cgroupsPath}. FAILED_PRECONDITION when neither is known.
     */
    public static String path(String sandboxId, String cgroupParent, List<Path> bundles) throws SandboxException {
        String path = cgroupParent == null ? "" : cgroupParent.trim();
        if (path.isEmpty() && !bundles.isEmpty()) {
            String container = Cgroups.cgroupsPath(bundles.get(0));
            int slash = container.lastIndexOf('/');
            path = slash <= 0 ? "" : container.substring(0, slash);
        }
        if (path.isEmpty() || path.equals("/")) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "sandbox " + sandboxId
                    + " has no cgroup of its own: CRI gave it no cgroup parent and it has no container");
        }
        if (path.contains("..") || path.contains(":")) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "cgroup parent " + path
                    + " of sandbox " + sandboxId + " is not a cgroupfs path");
        }
        return path;
    }

    /** Containerd's cgroup metrics of the pod cgroup (see {@link CgroupMetrics}). */
    public static TypedData metrics(String sandboxId, String path) throws SandboxException {
        try {
            return CgroupMetrics.read(Cgroups.host(), path);
        } catch (IOException e) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "metrics of sandbox " + sandboxId
                    + ": its cgroup " + path + " cannot be read: " + e.getMessage());
        }
    }

    /**
     * Writes {@code resources} (OCI LinuxResources) to the pod cgroup: memory.limit, cpu.shares/quota/period and
     * pids.limit. Everything is checked first: another key set, or a value that is not an integer, is refused
     * naming it, with nothing written.
     */
    public static void apply(String sandboxId, String path, JsonNode resources) throws SandboxException {
        try {
            apply(sandboxId, Cgroups.host(), path, resources);
        } catch (IOException e) {
            throw SandboxException.internal("cannot read the host's cgroup mounts", e);
        }
    }

    static void apply(String sandboxId, Cgroups layout, String path, JsonNode resources) throws SandboxException {
        Map<Path, String> writes = layout.isV1() ? v1(layout, path, values(sandboxId, resources))
                : v2(layout.v2Dir(path), values(sandboxId, resources));
        for (Path file : writes.keySet()) {
            if (!Files.isDirectory(file.getParent())) {
                throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox "
                        + sandboxId + ": its cgroup " + file.getParent() + " does not exist (no container yet)");
            }
        }
        for (Map.Entry<Path, String> w : writes.entrySet()) {
            try {
                Files.writeString(w.getKey(), w.getValue());
            } catch (IOException e) {
                throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox "
                        + sandboxId + ": the kernel refused " + w.getValue() + " in " + w.getKey() + ": "
                        + e.getMessage());
            }
        }
    }

    /** "memory.limit" -> value, for the keys set; refuses what a pod cgroup does not take. */
    private static Map<String, Long> values(String sandboxId, JsonNode resources) throws SandboxException {
        Map<String, Long> values = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = resources.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> group = it.next();
            if (unset(group.getValue())) {
                continue;
            }
            Set<String> keys = APPLIED.get(group.getKey());
            if (keys == null || !group.getValue().isObject()) {
                throw refused(sandboxId, group.getKey());
            }
            for (Iterator<Map.Entry<String, JsonNode>> f = group.getValue().fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> field = f.next();
                String name = group.getKey() + "." + field.getKey();
                if (unset(field.getValue())) {
                    continue;
                }
                if (!keys.contains(field.getKey())) {
                    throw refused(sandboxId, name);
                }
                if (!field.getValue().canConvertToLong() || !field.getValue().isIntegralNumber()) {
                    throw SandboxException.invalid("update of sandbox " + sandboxId + ": linux.resources." + name
                            + " is not an integer: " + field.getValue());
                }
                values.put(name, field.getValue().asLong());
            }
        }
        return values;
    }

    private static boolean unset(JsonNode v) {
        return v.isNull() || (v.isContainerNode() && v.isEmpty());
    }

    private static SandboxException refused(String sandboxId, String name) {
        return new SandboxException(SandboxException.Code.FAILED_PRECONDITION, "update of sandbox " + sandboxId
                + ": linux.resources." + name + " is not applied to a pod's cgroup by this sandboxer (memory.limit, "
                + "cpu.shares, cpu.quota, cpu.period and pids.limit are)");
    }

    private static Map<Path, String> v1(Cgroups layout, String path, Map<String, Long> v) {
        Map<Path, String> w = new LinkedHashMap<>();
        put(w, layout.v1Dir("cpu", path), "cpu.shares", v.get("cpu.shares"));
        put(w, layout.v1Dir("cpu", path), "cpu.cfs_period_us", v.get("cpu.period"));
        put(w, layout.v1Dir("cpu", path), "cpu.cfs_quota_us", v.get("cpu.quota"));
        put(w, layout.v1Dir("memory", path), "memory.limit_in_bytes", v.get("memory.limit"));
        Long pids = v.get("pids.limit");
        if (pids != null) {
            put(w, layout.v1Dir("pids", path), "pids.max", pids <= 0 ? "max" : pids);
        }
        return w;
    }

    private static Map<Path, String> v2(Path dir, Map<String, Long> v) {
        Map<Path, String> w = new LinkedHashMap<>();
        Long shares = v.get("cpu.shares");
        if (shares != null) {
            // the conversion runc and the kubelet use: shares 2..262144 onto weight 1..10000
            put(w, dir, "cpu.weight", shares == 0 ? 100 : 1 + ((shares - 2) * 9999) / 262142);
        }
        Long quota = v.get("cpu.quota");
        Long period = v.get("cpu.period");
        if (quota != null || period != null) {
            put(w, dir, "cpu.max", (quota == null || quota <= 0 ? "max" : quota) + " "
                    + (period == null ? 100000 : period));
        }
        Long memory = v.get("memory.limit");
        if (memory != null) {
            put(w, dir, "memory.max", memory <= 0 ? "max" : memory);
        }
        Long pids = v.get("pids.limit");
        if (pids != null) {
            put(w, dir, "pids.max", pids <= 0 ? "max" : pids);
        }
        return w;
    }

    private static void put(Map<Path, String> w, Path dir, String file, Object value) {
        if (value != null && dir != null) {
            w.put(dir.resolve(file), value.toString());
        }
    }
}
