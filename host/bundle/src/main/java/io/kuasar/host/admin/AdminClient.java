package io.kuasar.host.admin;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The command line of the node jar against a running node: {@code java -jar kuasar.jar [--admin-socket PATH]
 * drivers|sandboxes|install PATH|URL|upgrade NAME PATH|rollback NAME|remove NAME|trust ...|inspect PATH}. Sends one
 * {@link AdminProtocol} request to the node's admin socket, prints the text lines it answers, and returns 0 on
 * {@code OK}, 1 otherwise (the error on stderr). Plain Java, no OSGi; it never starts a framework.
 *
 * <p>The socket is {@code --admin-socket PATH}, else the one {@link NodeDiscovery} names or finds (the system
 * property {@code kuasar.admin.socket}, {@code KUASAR_ADMIN_SOCKET}, {@code <kuasar.run.dir>/admin.sock}, else the
 * first of the scripts' node and the systemd unit's that answers). {@code doctor} needs no node: {@link HostDoctor}.
 */
public final class AdminClient {
    public static final String SOCKET_OPTION = "--admin-socket";

    private AdminClient() {
    }

    /** Whether {@code args} are for the admin client rather than for the node's launcher. */
    public static boolean handles(String[] args) {
        if (args.length == 0) {
            return false;
        }
        String first = args[0];
        return AdminProtocol.COMMANDS.contains(first) || first.equals(HostDoctor.COMMAND) || first.equals(SOCKET_OPTION)
                || first.startsWith(SOCKET_OPTION + "=") || first.equals("help") || first.equals("--help");
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err, System.getenv()));
    }

    /** Runs one command; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> environment) {
        String socket = null;
        List<String> words = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (words.isEmpty() && a.equals(SOCKET_OPTION)) {
                if (++i == args.length) {
                    err.println("kuasar: " + SOCKET_OPTION + " needs a path");
                    return 1;
                }
                socket = args[i];
            } else if (words.isEmpty() && a.startsWith(SOCKET_OPTION + "=")) {
                socket = a.substring(SOCKET_OPTION.length() + 1);
            } else {
                words.add(a);
            }
        }
        if (words.isEmpty() || words.get(0).equals("help") || words.get(0).equals("--help")) {
            (words.isEmpty() ? err : out).println(usage());
            return words.isEmpty() ? 1 : 0;
        }
        if (words.get(0).equals(HostDoctor.COMMAND)) {
            return HostDoctor.run(words.subList(1, words.size()), socket, out, err, environment);
        }
        AdminProtocol.Request request;
        try {
            request = absolutePaths(AdminProtocol.request(words));
        } catch (IllegalArgumentException e) {
            err.println("kuasar: " + e.getMessage());
            return 1;
        }
        Path path;
        if (socket != null) {
            path = Path.of(socket);
        } else {
            NodeDiscovery.Found found = NodeDiscovery.find(properties(), environment, NodeDirectories.selfUid());
            if (found.socket() == null) {
                err.println("kuasar: " + found.problem());
                return 1;
            }
            path = found.socket();
        }
        try {
            return exchange(path, request, out, err);
        } catch (IOException e) {
            err.println("kuasar: cannot talk to the node on " + path + ": " + e.getMessage()
                    + " (is the node running, and are you root?)");
            return 1;
        }
    }

    static String usage() {
        return "usage: java -jar kuasar.jar [" + SOCKET_OPTION + " PATH] " + AdminProtocol.USAGE
                + "\n       java -jar kuasar.jar            (no command: starts the node)";
    }

    static Map<String, String> properties() {
        Map<String, String> p = new java.util.HashMap<>();
        System.getProperties().forEach((k, v) -> p.put(String.valueOf(k), String.valueOf(v)));
        return p;
    }

    /** The node does not share our working directory: file arguments are sent absolute. */
    static AdminProtocol.Request absolutePaths(AdminProtocol.Request r) {
        return switch (r.command()) {
            case "install", "inspect" -> r.arg(0).contains("://") ? r : withAbsolute(r, 0);
            case "upgrade" -> withAbsolute(r, 1);
            case "trust" -> r.arg(0).equals("add") ? withAbsolute(r, 1) : r;
            default -> r;
        };
    }

    private static AdminProtocol.Request withAbsolute(AdminProtocol.Request r, int i) {
        List<String> args = new ArrayList<>(r.args());
        args.set(i, Path.of(args.get(i)).toAbsolutePath().toString());
        return new AdminProtocol.Request(r.command(), args);
    }

    /** Sends the request, copies text lines to {@code out}; 0 when the last line is {@code OK}. */
    static int exchange(Path socket, AdminProtocol.Request request, PrintStream out, PrintStream err) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            OutputStream o = Channels.newOutputStream(channel);
            o.write((request.toLine() + "\n").getBytes(StandardCharsets.UTF_8));
            o.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel),
                    StandardCharsets.UTF_8));
            String previous = null;
            for (String line; (line = in.readLine()) != null; ) {
                if (previous != null) {
                    out.println(previous);
                }
                previous = line;
            }
            out.flush();
            if (AdminProtocol.OK.equals(previous)) {
                return 0;
            }
            if (previous != null && (previous.equals(AdminProtocol.ERR) || previous.startsWith(AdminProtocol.ERR + " "))) {
                err.println("kuasar: " + request.command() + ": " + previous.substring(AdminProtocol.ERR.length()).strip());
            } else {
                if (previous != null) {
                    out.println(previous);
                }
                err.println("kuasar: the node closed the connection without a status");
            }
            return 1;
        }
    }
}
