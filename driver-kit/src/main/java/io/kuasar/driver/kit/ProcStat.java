package io.kuasar.driver.kit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One line of {@code /proc/PID/stat}. The start time (field 22, clock ticks since boot) together with the pid names a
 * process uniquely since boot, so a recorded pid is only trusted again after a restart when its start time still
 * matches (pids get reused).
 *
 * @param comm      the command name (field 2), which may hold spaces and parentheses
 * @param state     the state letter (field 3): 'Z' for a zombie
 * @param ppid      the parent's pid (field 4)
 * @param session   the session id (field 6)
 * @param startTime field 22
 */
public record ProcStat(long pid, String comm, char state, long ppid, long session, long startTime) {
    public boolean zombie() {
        return state == 'Z';
    }

    /** The stat of {@code pid}, or null when no such process exists. */
    public static ProcStat of(long pid) {
        try {
            return parse(pid, Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            return null; // gone, or gone half-way through the read
        }
    }

    /** Parses a stat line: the fields after the command name start after its last ')'. */
    public static ProcStat parse(long pid, String text) {
        int open = text.indexOf('(');
        int close = text.lastIndexOf(')');
        String[] f = text.substring(close + 2).trim().split(" ");
        // f[0] is field 3 (state), f[1] field 4 (ppid), f[3] field 6 (session), f[19] field 22 (starttime)
        return new ProcStat(pid, text.substring(open + 1, close), f[0].charAt(0), Long.parseLong(f[1]),
                Long.parseLong(f[3]), Long.parseLong(f[19]));
    }

    /** Start time of {@code pid}, 0 if it does not exist. */
    public static long startTime(long pid) {
        ProcStat s = of(pid);
        return s == null ? 0 : s.startTime();
    }

    /** True when {@code pid} still is the process that had {@code startTime} (any process with that pid for 0). */
    public static boolean same(long pid, long startTime) {
        ProcStat s = of(pid);
        return s != null && (startTime == 0 || s.startTime() == startTime);
    }

    /** Every process this one can see. */
    public static List<ProcStat> all() {
        List<ProcStat> out = new ArrayList<>();
        for (long pid : pids()) {
            ProcStat s = of(pid);
            if (s != null) {
                out.add(s);
            }
        }
        return out;
    }

    /** The pids of every process this one can see, in /proc's order; empty when /proc cannot be listed. */
    public static List<Long> pids() {
        List<Long> out = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                out.add(Long.parseLong(p.getFileName().toString()));
            }
        } catch (IOException ignored) {
            // /proc not listable: nothing to see
        }
        return out;
    }

    /**
     * The arguments {@code pid} runs with ({@code /proc/PID/cmdline}, split on its NULs); empty for a process that is
     * gone, a zombie or a kernel thread, none of which has a command line.
     */
    public static List<String> cmdline(long pid) {
        byte[] raw;
        try {
            raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
        } catch (IOException | RuntimeException gone) {
            return List.of();
        }
        List<String> argv = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= raw.length; i++) {
            // each argument ends in a NUL; a process that rewrote its arguments may leave the last one without
            if (i == raw.length ? start < raw.length : raw[i] == 0) {
                argv.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        return List.copyOf(argv);
    }
}
