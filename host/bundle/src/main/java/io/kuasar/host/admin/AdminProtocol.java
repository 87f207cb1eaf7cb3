package io.kuasar.host.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The admin socket's line protocol, shared by the node ({@link AdminServer}) and the command line
 * ({@link AdminClient}); plain Java, no OSGi.
 *
 * <p>One request per connection. The client sends one UTF-8 line: the command and its arguments separated by
 * spaces; an argument that is empty or holds a space, tab, {@code "} or {@code \} is written in double quotes with
 * {@code \"} and {@code \\} escapes. The node answers zero or more text lines, then one final line, {@code OK} or
 * {@code ERR message}, and closes the connection: the status is always the last line before end of stream, so a
 * text line may hold anything (but no line break).
 *
 * <pre>
 * status | drivers | sandboxes | install PATH|URL [--force] | upgrade NAME PATH [--force] | rollback NAME
 * remove NAME [--force] | trust list | trust add CERT [ALIAS] | trust remove ALIAS|FINGERPRINT | inspect PATH
 * shell GOGO-COMMAND-LINE
 * </pre>
 *
 * {@code --force} of install and upgrade lets a bundle replace a driver signed by another signer; it never lets in
 * a bundle that fails the signature check.
 *
 * {@code shell} runs one line in the node's Felix gogo shell (e.g. {@code shell lb}, {@code shell kuasar:drivers}):
 * the shell of a node whose console is not a terminal, for the same root-only callers.
 */
public final class AdminProtocol {
    /** Longest request line the node reads. */
    public static final int MAX_REQUEST = 8192;
    public static final String OK = "OK";
    public static final String ERR = "ERR";
    public static final String USAGE = "status | doctor [--containerd-config FILE] | drivers | sandboxes | install PATH|URL [--force] | upgrade NAME PATH [--force]"
            + " | rollback NAME | remove NAME [--force] | trust list | trust add CERT [ALIAS]"
            + " | trust remove ALIAS|FINGERPRINT | inspect PATH | shell GOGO-COMMAND-LINE";
    public static final Set<String> COMMANDS = Set.of("status", "drivers", "sandboxes", "install", "upgrade", "rollback",
            "remove", "trust", "inspect", "shell");
    public static final String FORCE = "--force";

    private AdminProtocol() {
    }

    /** A checked request: a known command with the number of arguments it takes. */
    public record Request(String command, List<String> args) {
        public Request {
            args = List.copyOf(args);
        }

        public String arg(int i) {
            return args.get(i);
        }

        /** {@code remove NAME --force}, {@code install PATH --force}, {@code upgrade NAME PATH --force}. */
        public boolean force() {
            return switch (command) {
                case "remove", "install" -> args.size() == 2;
                case "upgrade" -> args.size() == 3;
                default -> false;
            };
        }

        /** The request as one protocol line (without the line break). */
        public String toLine() {
            StringBuilder line = new StringBuilder(command);
            args.forEach(a -> line.append(' ').append(quote(a)));
            return line.toString();
        }
    }

    /** Checks a command and its arguments; the message of the exception says what is wrong and the usage. */
    public static Request request(List<String> words) {
        if (words.isEmpty()) {
            throw new IllegalArgumentException("no command; usage: " + USAGE);
        }
        String command = words.get(0);
        List<String> args = words.subList(1, words.size());
        boolean ok = switch (command) {
            case "status", "drivers", "sandboxes" -> args.isEmpty();
            case "rollback", "inspect" -> args.size() == 1 && !args.get(0).isEmpty();
            case "install" -> optionalForce(args, 1);
            case "upgrade" -> optionalForce(args, 2);
            case "remove" -> optionalForce(args, 1);
            case "trust" -> !args.isEmpty() && switch (args.get(0)) {
                case "list" -> args.size() == 1;
                case "add" -> (args.size() == 2 || args.size() == 3) && !args.get(1).isEmpty();
                case "remove" -> args.size() == 2 && !args.get(1).isEmpty();
                default -> false;
            };
            case "shell" -> !String.join(" ", args).isBlank();
            default -> throw new IllegalArgumentException("unknown command '" + command + "'; usage: " + USAGE);
        };
        if (!ok) {
            throw new IllegalArgumentException("bad arguments for '" + command + "': " + args + "; usage: " + USAGE);
        }
        // The shell's words are one gogo line: kept as one argument, so the node sees exactly what was typed.
        return command.equals("shell") ? new Request(command, List.of(String.join(" ", args)))
                : new Request(command, args);
    }

    /** {@code n} non-empty words (not options), then optionally {@code --force}. */
    private static boolean optionalForce(List<String> args, int n) {
        if (args.size() != n && !(args.size() == n + 1 && args.get(n).equals(FORCE))) {
            return false;
        }
        return args.subList(0, n).stream().noneMatch(a -> a.isEmpty() || a.startsWith("-"));
    }

    /** Parses one request line. */
    public static Request parse(String line) {
        return request(split(line));
    }

    /** Splits a line into words: separated by spaces or tabs, double quotes group, backslash escapes in quotes. */
    public static List<String> split(String line) {
        // Anywhere, quoted or escaped too: a line break ends the request, a NUL cannot be in a path or a name.
        if (line.indexOf('\r') >= 0 || line.indexOf('\n') >= 0 || line.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("control character in the request line");
        }
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '\\') {
                    if (++i == line.length()) {
                        throw new IllegalArgumentException("unfinished escape at the end of the line");
                    }
                    word.append(line.charAt(i));
                } else if (c == '"') {
                    quoted = false;
                } else {
                    word.append(c);
                }
            } else if (c == ' ' || c == '\t') {
                if (word != null) {
                    words.add(word.toString());
                    word = null;
                }
            } else {
                if (word == null) {
                    word = new StringBuilder();
                }
                if (c == '"') {
                    quoted = true;
                } else {
                    word.append(c);
                }
            }
        }
        if (quoted) {
            throw new IllegalArgumentException("unbalanced quote in the request line");
        }
        if (word != null) {
            words.add(word.toString());
        }
        return words;
    }

    /** One word as {@link #split} reads it back. */
    public static String quote(String word) {
        if (!word.isEmpty() && word.chars().noneMatch(c -> c == ' ' || c == '\t' || c == '"' || c == '\\')) {
            return word;
        }
        StringBuilder q = new StringBuilder("\"");
        for (char c : word.toCharArray()) {
            if (c == '"' || c == '\\') {
                q.append('\\');
            }
            q.append(c);
        }
        return q.append('"').toString();
    }

    /** The final line for a failure: {@code ERR} and the message on one line. */
    public static String error(String message) {
        String text = message == null || message.isBlank() ? "failed" : message.strip();
        return ERR + " " + text.replaceAll("\\s*[\\r\\n]+\\s*", "; ");
    }

    /** A text line as sent: line breaks inside it would break the framing. */
    public static String textLine(String line) {
        return line.replaceAll("[\\r\\n]", " ");
    }
}
