package io.kuasar.driver.kit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Readers of the cgroup file formats: one number, space-separated numbers, and {@code key value} lines. */
final class CgroupFiles {
    private CgroupFiles() {
    }

    /** One number; "max" (v2's "no limit") and a missing file read as 0; an unsigned 2^64-1 keeps its bits. */
    static long single(Path file) throws IOException {
        String s = readOrEmpty(file).trim();
        if (s.isEmpty() || s.equals("max")) {
            return 0;
        }
        return Long.parseUnsignedLong(s.split("\\s+")[0]);
    }

    /** Space-separated numbers (cpuacct.usage_percpu); empty when the file is missing. */
    static long[] list(Path file) throws IOException {
        String s = readOrEmpty(file).trim();
        if (s.isEmpty()) {
            return new long[0];
        }
        String[] f = s.split("\\s+");
        long[] out = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Long.parseUnsignedLong(f[i]);
        }
        return out;
    }

    /** {@code key value} lines (memory.stat, cpu.stat, memory.oom_control); empty when the file is missing. */
    static Map<String, Long> keyed(Path file) throws IOException {
        Map<String, Long> out = new HashMap<>();
        for (String line : List.of(readOrEmpty(file).split("\n"))) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2) {
                try {
                    out.put(kv[0], Long.parseUnsignedLong(kv[1]));
                } catch (NumberFormatException ignored) {
                    // a "max" or other non-number value: not a counter
                }
            }
        }
        return out;
    }

    private static String readOrEmpty(Path file) throws IOException {
        if (file == null) {
            return "";
        }
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            return "";
        }
    }
}
