package io.kuasar.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A snapshot of /proc, to show which processes a pod costs: the stock runtime starts a containerd-shim (its
 * command line names the pod id) and a pause container per pod; Kuasar's runc pods should have neither. Also the
 * command lines of live processes alone ({@link #argv}, {@link #withArgument}), for tests that look for a process
 * by its arguments.
 */
public final class Processes {
    /** One process: its pid, parent, comm (at most 15 chars), argv and cgroup file text. */
    public record Proc(long pid, long ppid, String comm, List<String> argv, String cgroups) {
        public String argv0Name() {
            if (argv.isEmpty()) {
                return "";
            }
            String a = argv.get(0);
            return a.substring(a.lastIndexOf('/') + 1);
        }

        public boolean argvMentions(String text) {
            return argv.stream().anyMatch(a -> a.contains(text));
        }

        @Override
        public String toString() {
            String line = String.join(" ", argv);
            return pid + " (" + comm + ", parent " + ppid + "): " + (line.length() > 160 ? line.substring(0, 160) + "..." : line);
        }
    }

    private Processes() {
    }

    /** All processes readable now; ones exiting during the scan are skipped. */
    public static List<Proc> snapshot() {
        List<Proc> procs = new ArrayList<>();
        for (long pid : pids()) {
            Proc p = of(pid);
            if (p != null) {
                procs.add(p);
            }
        }
        return procs;
    }

    /**
     * The processes one of whose arguments is {@code argument}. Only command lines are read, so a scan is quick
     * enough to catch a process that lives for tens of milliseconds.
     */
    public static List<Long> withArgument(String argument) {
        return pids().stream().filter(pid -> argv(pid).contains(argument)).toList();
    }

    /** The arguments {@code pid} runs with, split on /proc's NULs; empty when it is gone or a kernel thread. */
    public static List<String> argv(long pid) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
        } catch (IOException | RuntimeException gone) {
            return List.of();
        }
        List<String> argv = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == 0) {
                argv.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (start < raw.length) {
            argv.add(new String(raw, start, raw.length - start, StandardCharsets.UTF_8));
        }
        return List.copyOf(argv);
    }

    private static List<Long> pids() {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path dir : dirs) {
                pids.add(Long.parseLong(dir.getFileName().toString()));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        return pids;
    }

    /** The process with this pid, or null when it is gone. */
    public static Proc of(long pid) {
        return read(Path.of("/proc", Long.toString(pid)));
    }

    public static List<Proc> matching(Predicate<Proc> filter) {
        return snapshot().stream().filter(filter).toList();
    }

    /** containerd shims (comm is cut to "containerd-shim"; argv[0] is the binary) whose command line names the pod. */
    public static List<Proc> shimsOf(String podId) {
        return matching(p -> isShim(p) && p.argvMentions(podId));
    }

    public static List<Proc> allShims() {
        return matching(Processes::isShim);
    }

    /** Every process named pause, whoever runs it. */
    public static List<Proc> allPauses() {
        return matching(Processes::isPause);
    }

    /**
     * Pause processes of one pod: CRI puts every container of a pod, the pause container too, in a cgroup named
     * after the container under the pod's cgroup parent, and the pause container's id is the pod id.
     */
    public static List<Proc> pausesOf(String podId) {
        return matching(p -> isPause(p) && p.cgroups().contains(podId));
    }

    private static boolean isShim(Proc p) {
        return p.comm().startsWith("containerd-shim") || p.argv0Name().startsWith("containerd-shim");
    }

    private static boolean isPause(Proc p) {
        return p.comm().equals("pause") || p.argv0Name().equals("pause");
    }

    private static Proc read(Path dir) {
        try {
            long pid = Long.parseLong(dir.getFileName().toString());
            String comm = Files.readString(dir.resolve("comm"), StandardCharsets.UTF_8).strip();
            List<String> argv = argv(pid);
            // stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so cut after the last ')'.
            String stat = Files.readString(dir.resolve("stat"), StandardCharsets.UTF_8);
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ppid = Long.parseLong(after[1]);
            String cgroups = Files.readString(dir.resolve("cgroup"), StandardCharsets.UTF_8);
            return new Proc(pid, ppid, comm, argv, cgroups);
        } catch (IOException | RuntimeException e) {
            return null; // exited while we looked, or a kernel thread with nothing to read
        }
    }
}
