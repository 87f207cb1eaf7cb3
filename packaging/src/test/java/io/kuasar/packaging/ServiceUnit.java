package io.kuasar.packaging;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A systemd unit file read the way systemd reads the parts this package uses: sections of {@code Key=value} lines
 * (a key may repeat), {@code Environment=} assignments, and the command line of {@code ExecStart=} split into words
 * with {@code ${VAR}} (one word) and {@code $VAR} (split at blanks) taken from the unit's environment.
 */
final class ServiceUnit {
    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}|\\$([A-Za-z_][A-Za-z0-9_]*)");
    private final Map<String, List<String>> keys = new LinkedHashMap<>();

    private ServiceUnit(String text) {
        String section = "";
        for (String raw : text.split("\n")) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            if (line.startsWith("[")) {
                section = line.substring(1, line.indexOf(']'));
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new AssertionError("not a Key=value line in [" + section + "]: " + line);
            }
            keys.computeIfAbsent(section + "." + line.substring(0, eq).strip(), k -> new ArrayList<>())
                    .add(line.substring(eq + 1).strip());
        }
    }

    static ServiceUnit read(Path file) throws IOException {
        return new ServiceUnit(Files.readString(file));
    }

    /** Every value of {@code Section.Key}, in order. */
    List<String> all(String sectionKey) {
        return keys.getOrDefault(sectionKey, List.of());
    }

    /** The one value of {@code Section.Key}; fails when absent or repeated. */
    String one(String sectionKey) {
        List<String> values = all(sectionKey);
        if (values.size() != 1) {
            throw new AssertionError("expected one " + sectionKey + ", found " + values);
        }
        return values.get(0);
    }

    /** The service's environment: its {@code Environment=} assignments, in order. */
    Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String line : all("Service.Environment")) {
            for (String assignment : line.split("\\s+")) {
                int eq = assignment.indexOf('=');
                if (eq <= 0) {
                    throw new AssertionError("not a VAR=value assignment in Environment=: " + assignment);
                }
                env.put(assignment.substring(0, eq), assignment.substring(eq + 1));
            }
        }
        return env;
    }

    /** ExecStart's words, variables expanded from {@link #environment()} (no quoting is used by this unit). */
    List<String> execStart() {
        return command("Service.ExecStart", Map.of());
    }

    /**
     * The words of a command key ({@code Service.ExecStart}, {@code Service.ExecReload}), variables expanded from
     * {@link #environment()} and {@code more} (what systemd sets itself, such as MAINPID).
     */
    List<String> command(String sectionKey, Map<String, String> more) {
        String line = one(sectionKey);
        if (line.matches("^[-@:+!].*") || line.contains("\"") || line.contains("'") || line.contains("%")) {
            throw new AssertionError(sectionKey + " uses prefixes, quotes or specifiers this reader does not know: " + line);
        }
        Map<String, String> env = new LinkedHashMap<>(environment());
        env.putAll(more);
        List<String> words = new ArrayList<>();
        for (String word : line.split("\\s+")) {
            Matcher whole = Pattern.compile("^\\$([A-Za-z_][A-Za-z0-9_]*)$").matcher(word);
            if (whole.matches()) { // $VAR alone: its value split at blanks, nothing when empty
                String v = env.getOrDefault(whole.group(1), "").strip();
                if (!v.isEmpty()) {
                    words.addAll(List.of(v.split("\\s+")));
                }
                continue;
            }
            words.add(VARIABLE.matcher(word).replaceAll(m -> Matcher.quoteReplacement(
                    env.getOrDefault(m.group(1) != null ? m.group(1) : m.group(2), ""))));
        }
        return words;
    }
}
