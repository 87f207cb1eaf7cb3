package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.driver.kit.tty.ConsoleSocket;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The runsc command line for one pod. Every command runs inside the pod's network namespace (through
 * {@code nsenter --net}): the sandbox was created there with {@code --network=host}, and runsc's control socket is
 * an abstract Unix socket, which lives in a network namespace, so a runsc started elsewhere gets "connection
 * refused". Each command logs to its own file, read back on failure so errors carry runsc's own words.
 */
final class Runsc {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT_SECONDS = 60;

    private final RunscSettings settings;
    private final Path root;
    private final String netnsPath;
    private final String platform;
    private final Reaper reaper;

    Runsc(RunscSettings settings, Path root, String netnsPath, String platform, Reaper reaper) {
        this.settings = settings;
        this.reaper = reaper;
        this.root = root;
        this.netnsPath = netnsPath == null ? "" : netnsPath;
        this.platform = platform;
    }

    Path root() {
        return root;
    }

    /** The full command line of a runsc call with the pod's global flags. */
    List<String> argv(Path log, List<String> args) {
        List<String> argv = new ArrayList<>();
        if (!netnsPath.isEmpty()) {
            argv.addAll(List.of(settings.nsenter(), "--net=" + netnsPath, "--"));
        }
        // --net-raw: CAP_NET_RAW stays in the capability sets CRI asks for (runsc drops it by default, unlike
        // containerd's default set); --oci-seccomp: the spec's seccomp profile is enforced inside the sandbox, on
        // the application's calls to gVisor's kernel (runsc ignores it by default)
        argv.addAll(List.of(settings.binary(), "--root=" + root, "--platform=" + platform,
                "--network=" + settings.network(), "--net-raw", "--oci-seccomp"));
        if (log != null) {
            argv.add("--log=" + log);
        }
        argv.addAll(args);
        return argv;
    }

    void create(String id, Path bundle, Path pidFile) throws SandboxException {
        create(id, bundle, pidFile, null);
    }

    /** runsc create; with a console socket, runsc makes the container's pty and sends the master there. */
    void create(String id, Path bundle, Path pidFile, ConsoleSocket console) throws SandboxException {
        List<String> args = new ArrayList<>(List.of("create", "--bundle=" + bundle, "--pid-file=" + pidFile));
        if (console != null) {
            args.add("--console-socket=" + console.path());
        }
        args.add(id);
        run("create", id, args, null);
    }

    /** runsc start; a sub-container takes the stdio of this command as its own. */
    void start(String id, StdioRedirects stdio) throws SandboxException {
        run("start", id, List.of("start", id), stdio);
    }

    void kill(String id, int signal, boolean all) throws SandboxException {
        List<String> args = new ArrayList<>(List.of("kill"));
        if (all) {
            args.add("--all");
        }
        args.addAll(List.of(id, Integer.toString(signal)));
        run("kill", id, args, null);
    }

    /** Signals one process of the container by its pid inside the sandbox. */
    void killPid(String id, long sandboxPid, int signal) throws SandboxException {
        run("kill", id, List.of("kill", "--pid=" + sandboxPid, id, Integer.toString(signal)), null);
    }

    /** runsc delete --force; it waits for the container's gofer (or the sandbox) to be gone, so reap meanwhile. */
    void delete(String id) throws SandboxException {
        reaper.sweepingWhile(() -> run("delete", id, List.of("delete", "--force", id), null));
    }

    /**
     * The pid of the container's gofer, from runsc's own state file ({@code ROOT/ID_sandbox:POD.state}, field
     * goferPid), 0 when unknown. runsc reports it nowhere else, and a sub-container's gofer is started by
     * {@code runsc start} and may already be a zombie without a command line when the driver looks. This reads
     * runsc's internal format (the same in 20221219 and 20240729); on a mismatch only prompt reaping is lost.
     */
    long goferPid(String id, String podId) {
        try {
            JsonNode n = JSON.readTree(stateFile(id, podId).toFile());
            return n.path("goferPid").asLong(0);
        } catch (IOException e) {
            return 0;
        }
    }

    /** runsc's status of the container ("created", "running", "paused", "stopped"); "" when it cannot tell. */
    String status(String id) {
        try {
            return JSON.readTree(run("state", id, List.of("state", id), null)).path("status").asText("");
        } catch (SandboxException | IOException e) {
            return "";
        }
    }

    /** True when runsc has state for container {@code id} of sandbox {@code podId} (see {@link #goferPid}). */
    boolean knows(String id, String podId) {
        return Files.exists(stateFile(id, podId));
    }

    /** runsc's own state file of container {@code id} in sandbox {@code podId}: {@code ROOT/ID_sandbox:POD.state}. */
    private Path stateFile(String id, String podId) {
        return root.resolve(id + "_sandbox:" + podId + ".state");
    }

    /** The marker in the command line of every host process runsc starts for this pod (see {@link Reaper}). */
    String marker() {
        return "--root=" + root;
    }

    void pause(String id) throws SandboxException {
        run("pause", id, List.of("pause", id), null);
    }

    void resume(String id) throws SandboxException {
        run("resume", id, List.of("resume", id), null);
    }

    /** Pids inside the sandbox of the container's processes. */
    List<Long> ps(String id) throws SandboxException {
        String out = run("ps", id, List.of("ps", "--format=json", id), null);
        List<Long> pids = new ArrayList<>();
        try {
            for (JsonNode n : JSON.readTree(out.isBlank() ? "[]" : out)) {
                pids.add(n.asLong());
            }
        } catch (IOException e) {
            throw SandboxException.internal("cannot parse runsc ps output", e);
        }
        return pids;
    }

    /** runsc events --stats: one JSON event with the container's CPU, memory and pids figures. */
    String stats(String id) throws SandboxException {
        return run("events", id, List.of("events", "--stats", id), null);
    }

    /** Starts {@code runsc wait}, which prints {"id":..,"exitStatus":N} once the container's init has exited. */
    Process startWait(String id) throws IOException {
        return new ProcessBuilder(argv(null, List.of("wait", id))).redirectInput(Commands.DEV_NULL)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    }

    /**
     * Starts {@code runsc exec} in the foreground: it ends with the exec'd process and exits with its code, so
     * this host process stands for it (one helper per exec). It writes the pid inside the sandbox to
     * {@code internalPidFile}, used to signal the process itself. With a {@code terminal} (a pty replica's path)
     * runsc exec runs on it (see {@link #ON_TERMINAL}); its stdio is then the terminal, not {@code stdio}.
     */
    Process startExec(String id, Path processJson, Path internalPidFile, Path exitFile, StdioRedirects stdio,
                      String terminal) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c", RECORD_EXIT, "kuasar-runsc-exec", exitFile.toString()));
        if (terminal != null) {
            cmd.addAll(List.of("/bin/sh", "-c", ON_TERMINAL, "kuasar-runsc-tty", terminal));
        }
        cmd.addAll(argv(null, List.of("exec", "--process=" + processJson, "--internal-pid-file=" + internalPidFile, id)));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        stdio.applyTo(pb);
        return pb.start();
    }

    /**
     * Runs runsc exec and keeps its exit status in a file ({@code ExitFiles}' format) before passing it on. The
     * status is the exec's, and only the foreground runsc exec knows it: a JVM that reaped the helper and died before
     * recording it, or an upgrade that replaced the driver meanwhile, would otherwise lose it for good.
     */
    static final String RECORD_EXIT = "f=$1; shift; \"$@\"; c=$?; printf '%s %s\\n' \"$c\" \"$(date +%s%N)\" > \"$f.tmp\""
            + " && mv \"$f.tmp\" \"$f\"; exit $c";

    /**
     * Runs a command on a terminal: the pty replica {@code $1}, opened once read-write, as stdin, stdout and stderr
     * (as runsc's own exec --detach does), and as the controlling terminal of a new session ({@code setsid -c}). A foreground runsc exec of a terminal process hands its own stdio
     * to the sandbox as the process's terminal (runsc has a console socket only for {@code exec --detach}, whose exit
     * code nobody could collect), and as the session leader it gets the SIGWINCH of a resize and forwards it to the
     * process. The shell, not this JVM, opens the replica: a JVM that leads its session would make it its own
     * controlling terminal.
     */
    static final String ON_TERMINAL = "t=$1; shift; exec setsid -w -c \"$@\" <>\"$t\" >&0 2>&0";

    /** Parses runsc wait's output: the exit code, 128+signal for a killed process; -1 when there is none. */
    static int parseWait(String out) {
        try {
            JsonNode n = JSON.readTree(out.isBlank() ? "{}" : out);
            return n.has("exitStatus") ? n.get("exitStatus").asInt() : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    /** Runs one runsc command; returns its stdout when it has no container stdio. */
    private String run(String op, String id, List<String> args, StdioRedirects stdio) throws SandboxException {
        Path log = null;
        Path out = null;
        try {
            log = Files.createTempFile(settings.logDir(), op + "-", ".log");
            ProcessBuilder pb = new ProcessBuilder(argv(log, args));
            if (stdio != null) {
                stdio.applyTo(pb);
            } else {
                out = Files.createTempFile(settings.logDir(), op + "-", ".out");
                pb.redirectInput(Commands.DEV_NULL).redirectOutput(out.toFile())
                        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
            }
            Process p = pb.start();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED,
                        "runsc " + op + " " + id + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            String stdout = out == null ? "" : Files.readString(out);
            if (p.exitValue() != 0) {
                throw failure(op, id, p.exitValue(), lastError(Files.readAllLines(log, StandardCharsets.UTF_8)));
            }
            return stdout;
        } catch (IOException e) {
            throw SandboxException.internal("cannot run " + settings.binary() + " " + op, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted while running runsc " + op);
        } finally {
            deleteQuietly(log);
            deleteQuietly(out);
        }
    }

    /** The message worth showing from runsc's log: its FATAL ERROR line, else the last line. */
    static String lastError(List<String> lines) {
        String last = "";
        for (String l : lines) {
            int fatal = l.indexOf("FATAL ERROR: ");
            if (fatal >= 0) {
                return l.substring(fatal + "FATAL ERROR: ".length()).trim();
            }
            if (!l.isBlank()) {
                last = l.trim();
            }
        }
        return last;
    }

    /** Maps runsc's complaint to a gRPC-style code, naming the causes known on this kind of host. */
    static SandboxException failure(String op, String id, int exit, String msg) {
        String text = "runsc " + op + " " + id + " failed" + (msg.isEmpty() ? " (exit " + exit + ")" : ": " + msg);
        String m = msg.toLowerCase();
        if (m.contains("rmem_default") || m.contains("root network namespace")) {
            return new SandboxException(SandboxException.Code.FAILED_PRECONDITION, text + " (gVisor's own network"
                    + " stack cannot start on this kernel, which shows /proc/sys/net/core/rmem_default in every"
                    + " network namespace: use network = host, which this driver enters with nsenter --net)");
        }
        if (m.contains("does not exist") || m.contains("not found") || m.contains("no such")) {
            return new SandboxException(SandboxException.Code.NOT_FOUND, text);
        }
        if (m.contains("not running") || m.contains("stopped") || m.contains("already") || m.contains("paused")
                || m.contains("invalid state")) {
            return new SandboxException(SandboxException.Code.FAILED_PRECONDITION, text);
        }
        return new SandboxException(SandboxException.Code.INTERNAL, text);
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a stray log in the driver's run dir is harmless
            }
        }
    }
}
