package io.kuasar.host.admin;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What {@code kuasar doctor} reads in containerd's config: its sandbox proxy plugins ({@code [proxy_plugins.NAME]},
 * {@code type = 'sandbox'}, {@code address}) and the CRI runtime handlers that name one ({@code sandboxer = 'NAME'}),
 * following {@code imports} (globs, as containerd does). A line reader for the keys it needs, not a TOML parser:
 * tables and {@code key = 'value'} lines; arrays on one line.
 */
final class ContainerdConfigCheck {
    /** A sandbox proxy plugin and the handlers that use it. */
    record Sandboxer(String name, String address, List<String> handlers) {
    }

    /** The config's files as read (the main one and its imports), its sandboxers, handlers naming an unknown one. */
    record Findings(List<Path> files, List<Sandboxer> sandboxers, Map<String, String> orphanHandlers) {
    }

    private final Path root;

    /** {@code root}: the host's root ({@code /}, or a fake one in tests); absolute import paths are read below it. */
    ContainerdConfigCheck(Path root) {
        this.root = root;
    }

    Findings read(Path config) throws IOException {
        Map<String, String> addresses = new TreeMap<>();   // proxy plugin -> address, type sandbox only
        Map<String, String> handlers = new TreeMap<>();    // handler -> sandboxer
        List<Path> files = new ArrayList<>();
        List<Path> pending = new ArrayList<>(List.of(config));
        while (!pending.isEmpty()) {
            Path file = pending.remove(0);
            if (files.contains(file) || files.size() > 64) {
                continue;
            }
            files.add(file);
            pending.addAll(scan(file, addresses, handlers));
        }
        Map<String, List<String>> byPlugin = new LinkedHashMap<>();
        addresses.keySet().forEach(n -> byPlugin.put(n, new ArrayList<>()));
        Map<String, String> orphans = new TreeMap<>();
        handlers.forEach((handler, sandboxer) -> {
            if (byPlugin.containsKey(sandboxer)) {
                byPlugin.get(sandboxer).add(handler);
            } else {
                orphans.put(handler, sandboxer);
            }
        });
        List<Sandboxer> sandboxers = new ArrayList<>();
        byPlugin.forEach((n, h) -> sandboxers.add(new Sandboxer(n, addresses.get(n), List.copyOf(h))));
        return new Findings(files, sandboxers, orphans);
    }

    /** Reads one file into the maps; returns the files its {@code imports} name. */
    private List<Path> scan(Path file, Map<String, String> addresses, Map<String, String> handlers) throws IOException {
        List<Path> imports = new ArrayList<>();
        List<String> table = List.of();
        Map<String, String> types = new TreeMap<>();
        Map<String, String> plugins = new TreeMap<>();
        for (String raw : Files.readAllLines(file)) {
            String line = stripComment(raw).strip();
            if (line.startsWith("[") && line.endsWith("]") && !line.contains("=")) {
                table = keyPath(line.replaceAll("^\\[+|]+$", ""));
                continue;
            }
            int eq = line.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String key = unquote(line.substring(0, eq).strip());
            String value = line.substring(eq + 1).strip();
            if (table.isEmpty() && key.equals("imports")) {
                for (String glob : value.replaceAll("[\\[\\]]", "").split(",")) {
                    if (!unquote(glob.strip()).isEmpty()) {
                        imports.addAll(expand(file, unquote(glob.strip())));
                    }
                }
            } else if (table.size() == 2 && table.get(0).equals("proxy_plugins")) {
                if (key.equals("type")) {
                    types.put(table.get(1), unquote(value));
                } else if (key.equals("address")) {
                    plugins.put(table.get(1), unquote(value));
                }
            } else if (key.equals("sandboxer") && table.size() >= 2 && table.get(table.size() - 2).equals("runtimes")) {
                handlers.put(table.get(table.size() - 1), unquote(value));
            }
        }
        plugins.forEach((name, address) -> {
            if ("sandbox".equals(types.get(name))) {
                addresses.put(name, address);
            }
        });
        return imports;
    }

    /** An import: absolute (below {@link #root}) or relative to the importing file; {@code *} matches in the name. */
    private List<Path> expand(Path from, String glob) throws IOException {
        Path pattern = glob.startsWith("/") ? root.resolve(glob.substring(1)) : from.resolveSibling(glob);
        Path dir = pattern.getParent();
        if (!glob.contains("*")) {
            return Files.isRegularFile(pattern) ? List.of(pattern) : List.of();
        }
        if (dir == null || !Files.isDirectory(dir)) {
            return List.of();
        }
        TreeSet<Path> matched = new TreeSet<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, pattern.getFileName().toString())) {
            files.forEach(matched::add);
        }
        return new ArrayList<>(matched);
    }

    /** {@code plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-runc} -> its keys, unquoted. */
    static List<String> keyPath(String header) {
        List<String> keys = new ArrayList<>();
        StringBuilder k = new StringBuilder();
        char quote = 0;
        for (char c : header.strip().toCharArray()) {
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                } else {
                    k.append(c);
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '.') {
                keys.add(k.toString().strip());
                k.setLength(0);
            } else {
                k.append(c);
            }
        }
        keys.add(k.toString().strip());
        return keys;
    }

    private static String stripComment(String line) {
        char quote = 0;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quote != 0) {
                quote = c == quote ? 0 : quote;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '#') {
                return line.substring(0, i);
            }
        }
        return line;
    }

    private static String unquote(String s) {
        String t = s.strip();
        return t.length() >= 2 && (t.startsWith("'") && t.endsWith("'") || t.startsWith("\"") && t.endsWith("\""))
                ? t.substring(1, t.length() - 1) : t;
    }
}
