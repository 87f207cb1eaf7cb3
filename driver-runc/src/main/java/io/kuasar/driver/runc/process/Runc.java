package io.kuasar.driver.runc.process;

import io.kuasar.driver.kit.HostFiles;
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
 * The runc command line. Every call gets its own JSON log file, read back on failure so the SandboxException
 * carries runc's own message (the last error line), not just an exit code.
 */
public final class Runc {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long TIMEOUT_SECONDS = 60;

    private final String binary;
    private final Path root;
    private final Path logDir;

    public Runc(String binary, Path root, Path logDir) throws IOException {
        this.binary = binary;
        this.root = HostFiles.privateDir(root);
        this.logDir = HostFiles.privateDir(logDir);
    }

    Path root() {
        return root;
    }

    /**
     * runc create, with the container's stdio given straight to runc (and so inherited by the container's init):
     * no copying thread in this JVM.
     */
    public void create(String id, Path bundle, Path pidFile, StdioRedirects stdio, ConsoleSocket console)
            throws SandboxException {
        List<String> args = new ArrayList<>(List.of("create", "--bundle", bundle.toString(), "--pid-file",
                pidFile.toString()));
        consoleArgs(args, console);
        args.add(id);
        run("create", args, stdio);
    }

    /** --console-socket for a terminal process: runc sends the pty master there (see {@link ConsoleSocket}). */
    private static void consoleArgs(List<String> args, ConsoleSocket console) {
        if (console != null) {
            args.add("--console-socket");
            args.add(console.path().toString());
        }
    }

    public void start(String id) throws SandboxException {
        run("start", List.of("start", id), null);
    }

    /** runc exec --detach: the process outlives runc and is reparented to this JVM (a child subreaper). */
    public void exec(String id, Path processJson, Path pidFile, StdioRedirects stdio, ConsoleSocket console)
            throws SandboxException {
        List<String> args = new ArrayList<>(List.of("exec", "--detach", "--pid-file", pidFile.toString(), "--process",
                processJson.toString()));
        consoleArgs(args, console);
        args.add(id);
        run("exec", args, stdio);
    }

    /** runc update --resources FILE: cgroup limits from an OCI LinuxResources JSON document. */
    public void update(String id, Path resourcesJson) throws SandboxException {
        run("update", List.of("update", "--resources", resourcesJson.toString(), id), null);
    }

    public void killAll(String id, int signal) throws SandboxException {
        run("kill", List.of("kill", "--all", id, Integer.toString(signal)), null);
    }

    public void delete(String id) throws SandboxException {
        run("delete", List.of("delete", "--force", id), null);
    }

    public void pause(String id) throws SandboxException {
        run("pause", List.of("pause", id), null);
    }

    public void resume(String id) throws SandboxException {
        run("resume", List.of("resume", id), null);
    }

    public List<Long> ps(String id) throws SandboxException {
        String out = run("ps", List.of("ps", "--format", "json", id), null);
        List<Long> pids = new ArrayList<>();
        try {
            JsonNode n = JSON.readTree(out.isBlank() ? "[]" : out);
            for (JsonNode p : n) {
                pids.add(p.asLong());
            }
        } catch (IOException e) {
            throw SandboxException.internal("cannot parse runc ps output", e);
        }
        return pids;
    }

    /** runc's status of a container: "created", "running", "paused", "stopped". */
    public String status(String id) throws SandboxException {
        String out = run("state", List.of("state", id), null);
        try {
            return JSON.readTree(out).path("status").asText("");
        } catch (IOException e) {
            throw SandboxException.internal("cannot parse runc state output", e);
        }
    }

    /** True when runc still has state for {@code id}. */
    public boolean exists(String id) {
        return Files.isDirectory(root.resolve(id));
    }

    /** Runs runc; returns stdout when stdio is null (else stdout belongs to the container). */
    private String run(String op, List<String> args, StdioRedirects stdio) throws SandboxException {
        Path log = null;
        try {
            log = Files.createTempFile(logDir, op + "-", ".log");
            List<String> argv = new ArrayList<>(List.of(binary, "--root", root.toString(), "--log", log.toString(),
                    "--log-format", "json"));
            argv.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(argv);
            Path out = null;
            if (stdio != null) {
                stdio.applyTo(pb);
            } else {
                out = Files.createTempFile(logDir, op + "-", ".out");
                pb.redirectInput(Commands.DEV_NULL).redirectOutput(out.toFile())
                        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
            }
            Process p = pb.start();
            boolean done = p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                throw new SandboxException(SandboxException.Code.DEADLINE_EXCEEDED,
                        "runc " + op + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            String stdout = out == null ? "" : Files.readString(out);
            if (out != null) {
                Files.deleteIfExists(out);
            }
            if (p.exitValue() != 0) {
                String msg = RuncLog.lastError(Files.readAllLines(log, StandardCharsets.UTF_8));
                throw failure(op, args.get(args.size() - 1), p.exitValue(), msg);
            }
            return stdout;
        } catch (IOException e) {
            throw SandboxException.internal("cannot run " + binary + " " + op, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException(SandboxException.Code.CANCELLED, "interrupted while running runc " + op);
        } finally {
            if (log != null) {
                try {
                    Files.deleteIfExists(log);
                } catch (IOException ignored) {
                    // a stray log in the driver's run dir is harmless
                }
            }
        }
    }

    /** Maps runc's complaint to a gRPC-style code: unknown container, wrong state, or anything else. */
    static SandboxException failure(String op, String id, int exit, String msg) {
        String text = "runc " + op + " " + id + " failed" + (msg.isEmpty() ? " (exit " + exit + ")" : ": " + msg);
        String m = msg.toLowerCase();
        SandboxException.Code code;
        if (m.contains("does not exist") || m.contains("not found")) {
            code = SandboxException.Code.NOT_FOUND;
        } else if (m.contains("not running") || m.contains("stopped") || m.contains("paused")
                || m.contains("cannot ") || m.contains("already")) {
            code = SandboxException.Code.FAILED_PRECONDITION;
        } else {
            code = SandboxException.Code.INTERNAL;
        }
        return new SandboxException(code, text);
    }
}
