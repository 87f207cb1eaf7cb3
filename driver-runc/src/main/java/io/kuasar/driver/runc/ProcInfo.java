package io.kuasar.driver.runc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads /proc/PID/stat. The start time (field 22) together with the pid names a process uniquely since boot, so a
 * recorded pid is only trusted again after a restart when its start time still matches (pids get reused).
 */
final class ProcInfo {
    /** Parent pid, state letter and start time (clock ticks since boot) of a live or zombie process. */
    record Stat(long pid, char state, long ppid, long startTime) {
        boolean zombie() {
            return state == 'Z';
        }
    }

    private ProcInfo() {
    }

    /** The stat of {@code pid}, or null when no such process exists. */
    static Stat stat(long pid) {
        String text;
        try {
            text = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        } catch (IOException e) {
            return null;
        }
        return parse(pid, text);
    }

    static Stat parse(long pid, String text) {
        // comm (field 2) may contain spaces and parentheses: the fields after it start after the last ')'.
        int close = text.lastIndexOf(')');
        String[] f = text.substring(close + 2).trim().split(" ");
        // f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime)
        return new Stat(pid, f[0].charAt(0), Long.parseLong(f[1]), Long.parseLong(f[19]));
    }

    /** Start time of {@code pid}, 0 if it does not exist. */
    static long startTime(long pid) {
        Stat s = stat(pid);
        return s == null ? 0 : s.startTime();
    }

    /** True when {@code pid} still is the process that had {@code startTime}. */
    static boolean same(long pid, long startTime) {
        Stat s = stat(pid);
        return s != null && (startTime == 0 || s.startTime() == startTime);
    }
}
