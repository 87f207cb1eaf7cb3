package io.kuasar.bench;

import io.kuasar.e2e.NodeEnv;
import io.kuasar.e2e.Processes;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What the node holds at one moment, counted the same way before the pods start and after they are all removed:
 * the JVM's open file descriptors and threads, mounts under the node dir, cgroup directories under the pods'
 * cgroup parent (all controllers), processes of the node (keeper, JVM and their descendants, plus anything in a
 * cgroup below the pods' parent) and zombies among them.
 */
record NodeFootprint(long jvmPid, int fds, int threads, int mounts, int cgroupDirs, int processes, int zombies,
                     List<String> processLines, Map<String, Integer> threadNames) {

    /** The JVM serving the node: the pid file names the keeper (or the JVM itself when run without one). */
    static long jvmPid(NodeEnv env) throws IOException {
        long pid = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        Processes.Proc p = Processes.of(pid);
        if (p != null && p.comm().equals("java")) {
            return pid;
        }
        for (Processes.Proc c : Processes.snapshot()) {
            if (c.ppid() == pid && c.comm().equals("java")) {
                return c.pid();
            }
        }
        throw new IllegalStateException("no java process under node pid " + pid);
    }

    static NodeFootprint take(NodeEnv env) throws IOException {
        long keeper = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        long jvm = jvmPid(env);
        int fds;
        try (Stream<Path> s = Files.list(Path.of("/proc", Long.toString(jvm), "fd"))) {
            fds = (int) s.count();
        }
        int threads = 0;
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(jvm), "status"))) {
            if (line.startsWith("Threads:")) {
                threads = Integer.parseInt(line.substring(8).trim());
            }
        }
        String nodeDir = env.nodeDir().toAbsolutePath().normalize() + "/";
        int mounts = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && (f[4] + "/").startsWith(nodeDir)) {
                mounts++;
            }
        }
        int cgroups = countCgroupDirs(env.cgroupParent());
        // Processes: descendants of the keeper (JVM, containers it reaps), and anything in a pod cgroup.
        List<Processes.Proc> all = Processes.snapshot();
        Map<Long, List<Processes.Proc>> children = new java.util.HashMap<>();
        all.forEach(p -> children.computeIfAbsent(p.ppid(), k -> new java.util.ArrayList<>()).add(p));
        Set<Long> mine = new HashSet<>();
        java.util.ArrayDeque<Long> todo = new java.util.ArrayDeque<>(List.of(keeper));
        while (!todo.isEmpty()) {
            long pid = todo.pop();
            if (mine.add(pid)) {
                children.getOrDefault(pid, List.of()).forEach(c -> todo.push(c.pid()));
            }
        }
        String parent = env.cgroupParent().endsWith("/") ? env.cgroupParent() : env.cgroupParent() + "/";
        List<String> lines = new java.util.ArrayList<>();
        int zombies = 0;
        for (Processes.Proc p : all) {
            boolean inPodCgroup = p.cgroups().contains(":" + parent) || p.cgroups().contains(":" + env.cgroupParent() + "\n");
            if (mine.contains(p.pid()) || inPodCgroup) {
                lines.add(p.toString());
                if (isZombie(p.pid())) {
                    zombies++;
                }
            }
        }
        return new NodeFootprint(jvm, fds, threads, mounts, cgroups, lines.size(), zombies, lines, threadNames(jvm));
    }

    /** The JVM's threads by name (/proc task comm, 15 chars), digits replaced by N: "Cleaner-N" -> count. */
    static Map<String, Integer> threadNames(long pid) {
        Map<String, Integer> names = new java.util.TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : tasks) {
                try {
                    names.merge(Files.readString(t.resolve("comm")).strip().replaceAll("[0-9]+", "N"), 1, Integer::sum);
                } catch (IOException e) {
                    // thread ended while we looked
                }
            }
        } catch (IOException e) {
            // process gone: no threads
        }
        return names;
    }

    private static boolean isZombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Directories at and below the cgroup parent, summed over every mounted hierarchy (v1 controllers and v2). */
    static int countCgroupDirs(String cgroupParent) throws IOException {
        int n = 0;
        Path root = Path.of("/sys/fs/cgroup");
        String rel = cgroupParent.startsWith("/") ? cgroupParent.substring(1) : cgroupParent;
        Set<Path> roots = new HashSet<>();
        roots.add(root);
        try (DirectoryStream<Path> hier = Files.newDirectoryStream(root)) {
            for (Path h : hier) {
                if (Files.isDirectory(h) && !Files.isSymbolicLink(h)) {
                    roots.add(h);
                }
            }
        }
        for (Path h : roots) {
            Path dir = h.resolve(rel);
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.walk(dir)) {
                    n += (int) s.filter(Files::isDirectory).count();
                } catch (IOException | java.io.UncheckedIOException e) {
                    // a cgroup removed while we walked: counted as gone
                }
            }
        }
        return n;
    }
}
