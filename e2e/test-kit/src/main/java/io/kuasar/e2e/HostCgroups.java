package io.kuasar.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The host's cgroup hierarchies as /proc/self/mountinfo shows them, so tests find a cgroup wherever this host keeps
 * it instead of assuming {@code /sys/fs/cgroup/<controller>}: v1 hierarchies by controller (comounted ones such as
 * {@code cpu,cpuacct} answer for each of their controllers), named v1 hierarchies ({@code name=systemd}) and the
 * cgroup2 mount.
 *
 * <p>Whether containers get v1 or v2 cgroups is decided as containerd and runc decide it: v2 ("unified") only when
 * {@code /sys/fs/cgroup} itself is the cgroup2 mount; a "hybrid" host (v1 controllers, plus a cgroup2 mount at
 * {@code /sys/fs/cgroup/unified} holding no controllers) is v1.
 *
 * @param v1      mount of each v1 controller by name ({@code memory}, {@code cpuacct}, ...)
 * @param named   mounts of named v1 hierarchies ({@code name=systemd}), which hold no controller
 * @param unified the cgroup2 mount, or null
 */
record HostCgroups(Map<String, Mount> v1, List<Mount> named, Mount unified) {
    static final Path UNIFIED_MODE_ROOT = Path.of("/sys/fs/cgroup");
    /** Super options of a v1 mount that name no controller (besides {@code name=} and {@code release_agent=}). */
    private static final java.util.Set<String> NOT_CONTROLLERS = java.util.Set.of("rw", "ro", "none", "noprefix",
            "clone_children", "xattr", "cpuset_v2_mode", "favordynmods");

    /**
     * A cgroup hierarchy mounted at {@code mountPoint}, showing the hierarchy's {@code root} there (a cgroup
     * namespace or a bind mount shows a sub-tree).
     */
    record Mount(Path mountPoint, String root) {
        /** The directory of {@code cgroupPath} (absolute in the hierarchy) under this mount. */
        Path dirOf(String cgroupPath) {
            String p = "/" + cgroupPath.replaceFirst("^/+", "");
            if (!root.equals("/") && (p.equals(root) || p.startsWith(root + "/"))) {
                p = p.substring(root.length());
            }
            String rel = p.replaceFirst("^/+", "");
            return rel.isEmpty() ? mountPoint : mountPoint.resolve(rel);
        }
    }

    /** This host's hierarchies. */
    static HostCgroups host() {
        try {
            return parse(Files.readAllLines(Path.of("/proc/self/mountinfo")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self/mountinfo", e);
        }
    }

    /** Parses mountinfo lines: {@code ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - FSTYPE SOURCE SUPER}. */
    static HostCgroups parse(List<String> mountinfo) {
        Map<String, Mount> v1 = new LinkedHashMap<>();
        List<Mount> named = new ArrayList<>();
        Mount unified = null;
        for (String line : mountinfo) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (dash < 6 || f.length < dash + 4) {
                continue;
            }
            Mount m = new Mount(Path.of(unescape(f[4])), unescape(f[3]));
            String type = f[dash + 1];
            if (type.equals("cgroup2")) {
                // A second mount of the same hierarchy (a bind mount) adds nothing; the first one is kept.
                if (unified == null || m.mountPoint().equals(UNIFIED_MODE_ROOT)) {
                    unified = m;
                }
            } else if (type.equals("cgroup")) {
                boolean controller = false;
                for (String opt : f[dash + 3].split(",")) {
                    if (!NOT_CONTROLLERS.contains(opt) && !opt.contains("=")) {
                        v1.putIfAbsent(opt, m);
                        controller = true;
                    }
                }
                if (!controller) {
                    named.add(m); // name=systemd and the like: no controller, still a hierarchy runc makes dirs in
                }
            }
        }
        return new HostCgroups(Map.copyOf(v1), List.copyOf(named), unified);
    }

    /** Octal escapes of mountinfo ({@code \040} for a space). */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** True when containers here get cgroup v1 (containerd's legacy or hybrid mode). */
    boolean isV1() {
        return !(unified != null && unified.mountPoint().equals(UNIFIED_MODE_ROOT)) && !v1.isEmpty();
    }

    /** True when containers here get cgroup v2 (containerd's unified mode). */
    boolean isV2() {
        return unified != null && unified.mountPoint().equals(UNIFIED_MODE_ROOT);
    }

    /**
     * The directory of {@code cgroupPath} for {@code controller}: its v1 hierarchy on a v1 host, the cgroup2 tree on
     * a v2 host; null when this host has no such v1 controller mounted.
     */
    Path dir(String controller, String cgroupPath) {
        if (isV2()) {
            return unified.dirOf(cgroupPath);
        }
        Mount m = v1.get(controller);
        return m == null ? null : m.dirOf(cgroupPath);
    }

    /**
     * Every hierarchy a container's cgroup may be made in: each distinct v1 mount (controllers and named ones) and
     * the cgroup2 mount, sorted and without duplicates (comounted controllers share one mount).
     */
    List<Path> roots() {
        TreeSet<Path> all = new TreeSet<>();
        v1.values().forEach(m -> all.add(m.mountPoint()));
        named.forEach(m -> all.add(m.mountPoint()));
        if (unified != null) {
            all.add(unified.mountPoint());
        }
        return List.copyOf(all);
    }

    /** The directories of {@code cgroupPath} in every hierarchy ({@link #roots()}). */
    List<Path> dirsEverywhere(String cgroupPath) {
        List<Mount> mounts = new ArrayList<>(v1.values());
        mounts.addAll(named);
        if (unified != null) {
            mounts.add(unified);
        }
        return mounts.stream().map(m -> m.dirOf(cgroupPath)).distinct().sorted().toList();
    }

    /** What this host has, for skip reasons and failure messages. */
    String describe() {
        return (isV2() ? "cgroup v2 (unified at " + unified.mountPoint() + ")"
                : "cgroup v1 controllers " + new TreeSet<>(v1.keySet())
                        + (unified == null ? "" : " and a cgroup2 mount at " + unified.mountPoint()));
    }
}
