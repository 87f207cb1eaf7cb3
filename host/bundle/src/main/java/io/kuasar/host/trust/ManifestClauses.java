package io.kuasar.host.trust;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OSGi manifest header syntax, as much as {@link BundleFacts} needs: clauses separated by commas, each a list of
 * names then {@code attr=value} and {@code directive:=value} parameters separated by semicolons; quoted values may
 * hold commas and semicolons. Typed attributes ({@code objectClass:List<String>=...}) are keyed by their name.
 */
final class ManifestClauses {
    record Clause(List<String> names, Map<String, String> attributes, Map<String, String> directives) {
        String attribute(String key) {
            return attributes.get(key);
        }

        String directive(String key) {
            return directives.get(key);
        }
    }

    private ManifestClauses() {
    }

    static List<Clause> parse(String header) {
        List<Clause> clauses = new ArrayList<>();
        if (header == null) {
            return clauses;
        }
        for (String clause : split(header, ',')) {
            List<String> names = new ArrayList<>();
            Map<String, String> attributes = new LinkedHashMap<>();
            Map<String, String> directives = new LinkedHashMap<>();
            for (String part : split(clause, ';')) {
                int eq = part.indexOf('=');
                if (eq < 0) {
                    names.add(part.trim());
                } else if (eq > 0 && part.charAt(eq - 1) == ':') {
                    directives.put(part.substring(0, eq - 1).trim(), unquote(part.substring(eq + 1)));
                } else {
                    String key = part.substring(0, eq).trim();
                    int colon = key.indexOf(':');
                    attributes.put(colon < 0 ? key : key.substring(0, colon).trim(), unquote(part.substring(eq + 1)));
                }
            }
            clauses.add(new Clause(names, attributes, directives));
        }
        return clauses;
    }

    /** The first name of every clause: e.g. the paths of {@code Service-Component}. */
    static List<String> names(String header) {
        return parse(header).stream().filter(c -> !c.names().isEmpty()).map(c -> c.names().get(0)).toList();
    }

    private static List<String> split(String text, char separator) {
        List<String> parts = new ArrayList<>();
        StringBuilder part = new StringBuilder();
        boolean quoted = false;
        for (char c : text.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == separator && !quoted) {
                if (!part.toString().isBlank()) {
                    parts.add(part.toString().trim());
                }
                part.setLength(0);
            } else {
                part.append(c);
            }
        }
        if (!part.toString().isBlank()) {
            parts.add(part.toString().trim());
        }
        return parts;
    }

    private static String unquote(String value) {
        String v = value.trim();
        return v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"") ? v.substring(1, v.length() - 1) : v;
    }
}
