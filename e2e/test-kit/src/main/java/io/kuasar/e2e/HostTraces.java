package io.kuasar.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * What a pod leaves on the host, found by looking at the host itself rather than asking containerd or the node:
 * paths under our state and run dirs, mounts, processes and cgroup dirs that name the pod's or its containers'
 * ids, and the Task API sockets (named by a hash, so only a before/after comparison finds a pod's socket).
 */
final class HostTraces {
    /**
     * Everything found naming one of the ids.
     *
     * @param statePaths  paths under our state dir
     * @param runPaths    paths under our run dir (namespace pins, runc state, per-task files, logs)
     * @param mounts      lines of /proc/self/mountinfo
     * @param processes   processes whose command line or cgroup names an id
     * @param cgroupDirs  cgroup dirs below the pod's cgroup parent, in any cgroup hierarchy of the host
     */
    record Found(List<Path> statePaths, List<Path> runPaths, List<String> mounts, List<Processes.Proc> processes,
                 List<Path> cgroupDirs) {
        boolean isEmpty() {
            return statePaths.isEmpty() && runPaths.isEmpty() && mounts.isEmpty() && processes.isEmpty()
                    && cgroupDirs.isEmpty();
        }

        @Override
        public String toString() {
            return "state dir paths " + statePaths + "\n  run dir paths " + runPaths + "\n  mounts " + mounts
                    + "\n  processes " + processes + "\n  cgroup dirs " + cgroupDirs;
        }
    }

    static final int S_IFMT = 0170000;
    static final int S_IFSOCK = 0140000;

    private HostTraces() {
    }

    /** Everything on the host that names one of {@code ids} (a sandbox id, container ids). */
    static Found naming(NodeEnv env, Collection<String> ids) {
        return new Found(pathsNaming(env.kuasarStateDir(), ids), pathsNaming(env.kuasarRunDir(), ids),
                mountsNaming(ids), processesNaming(ids), cgroupDirsNaming(env.cgroupParent(), ids));
    }

    /** Paths below {@code root} whose path relative to it contains one of the ids (a file or any parent dir). */
    static List<Path> pathsNaming(Path root, Collection<String> ids) {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(p -> containsAny(root.relativize(p).toString(), ids)).sorted().toList();
        } catch (UncheckedIOException e) {
            // A file vanishing during the walk: the node may still be cleaning up; look once more.
            if (e.getCause() instanceof NoSuchFileException) {
                return pathsNaming(root, ids);
            }
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot walk " + root, e);
        }
    }

    /** Lines of this process's mountinfo (the host's mount namespace) that contain one of the ids. */
    static List<String> mountsNaming(Collection<String> ids) {
        try {
            return Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8).stream()
                    .filter(l -> containsAny(l, ids)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self/mountinfo", e);
        }
    }

    /** Processes whose argv mentions an id, or which sit in a cgroup named after one. */
    static List<Processes.Proc> processesNaming(Collection<String> ids) {
        return Processes.matching(p -> containsAny(p.cgroups(), ids) || ids.stream().anyMatch(p::argvMentions));
    }

    /**
     * Directories below {@code cgroupParent} whose path names an id, in every cgroup hierarchy mountinfo shows (v1
     * controllers, named v1 hierarchies, cgroup2). Fails when there is no hierarchy or a root is missing: an empty
     * answer must mean "nothing left", never "looked nowhere".
     */
    static List<Path> cgroupDirsNaming(String cgroupParent, Collection<String> ids) {
        HostCgroups cgroups = HostCgroups.host();
        if (cgroups.roots().isEmpty()) {
            throw new AssertionError("no cgroup hierarchy in /proc/self/mountinfo: the cgroup scan would see nothing");
        }
        for (Path root : cgroups.roots()) {
            if (!Files.isDirectory(root)) {
                throw new AssertionError("cgroup hierarchy " + root + " (from mountinfo) is not a directory");
            }
        }
        List<Path> found = new ArrayList<>();
        for (Path parent : cgroups.dirsEverywhere(cgroupParent)) {
            found.addAll(pathsNaming(parent, ids).stream().filter(Files::isDirectory).toList());
        }
        return found;
    }

    /** The Unix sockets in our run dir's {@code task/} directory (one per sandbox serving the Task API). */
    static Set<Path> taskSockets(NodeEnv env) {
        Path dir = env.kuasarRunDir().resolve("task");
        Set<Path> sockets = new TreeSet<>();
        if (!Files.isDirectory(dir)) {
            return sockets;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (isSocket(p)) {
                    sockets.add(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return sockets;
    }

    /** The file's type and permission bits (st_mode), without following a final symbolic link. */
    static int mode(Path p) throws IOException {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }

    static boolean isSocket(Path p) {
        try {
            return (mode(p) & S_IFMT) == S_IFSOCK;
        } catch (IOException e) {
            return false; // gone meanwhile
        }
    }

    /**
     * A process's identity that survives pid reuse: pid plus its start time (clock ticks since boot, field 22 of
     * /proc/PID/stat); null when the process is gone.
     */
    static String identity(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return pid + "@" + after[19]; // after[0] is field 3 (state), so field 22 is after[19]
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The target of /proc/PID/ns/KIND ({@code pid:[4026...]}), or null when the process is gone. */
    static String namespace(long pid, String kind) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", kind)).toString();
        } catch (IOException e) {
            return null;
        }
    }

    private static boolean containsAny(String text, Collection<String> ids) {
        for (String id : ids) {
            if (text.contains(id)) {
                return true;
            }
        }
        return false;
    }
}
