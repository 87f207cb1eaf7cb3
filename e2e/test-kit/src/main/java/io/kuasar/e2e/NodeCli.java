package io.kuasar.e2e;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code java -jar host/target/kuasar.jar --admin-socket SOCK ARGS}: the node's command line, run as an operator would. */
public final class NodeCli {
    public static final Duration TIMEOUT = Duration.ofSeconds(90);

    /** The command's outcome. */
    public record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\nstdout:\n" + out + "stderr:\n" + err;
        }
    }

    private final NodeEnv env;
    private final Path outputDir;

    public NodeCli(NodeEnv env, Path outputDir) {
        this.env = env;
        this.outputDir = outputDir;
    }

    public Path adminSocket() {
        return env.kuasarRunDir().resolve("admin.sock");
    }

    /** Runs a command against the node's admin socket. */
    public Result admin(String... args) throws IOException, InterruptedException {
        List<String> all = new ArrayList<>(List.of("--admin-socket", adminSocket().toString()));
        all.addAll(List.of(args));
        return run(all);
    }

    /** Runs the jar with exactly {@code args}, in a separate JVM. */
    public Result run(List<String> args) throws IOException, InterruptedException {
        return run(List.of(), args);
    }

    /**
     * Runs a command with no socket named, as an operator would after the scripts started the node: the command
     * finds it through {@code KUASAR_NODE_DIR} (set to this node's; {@code KUASAR_ADMIN_SOCKET} removed).
     */
    public Result discovering(String... args) throws IOException, InterruptedException {
        return discoveringFrom(env.nodeDir(), args);
    }

    /** As {@link #discovering}, with {@code KUASAR_NODE_DIR} set to {@code nodeDir}. */
    public Result discoveringFrom(Path nodeDir, String... args) throws IOException, InterruptedException {
        return run(List.of(), List.of(args), Map.of("KUASAR_NODE_DIR", nodeDir.toString()));
    }

    /** Runs {@code java JVM-OPTIONS -jar kuasar.jar ARGS}: with no admin command, that starts a node. */
    public Result run(List<String> jvmOptions, List<String> args) throws IOException, InterruptedException {
        return run(jvmOptions, args, Map.of());
    }

    private Result run(List<String> jvmOptions, List<String> args, Map<String, String> environment)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", env.repo().resolve("host/target/kuasar.jar").toString()));
        cmd.addAll(args);
        Path out = Files.createTempFile(outputDir, "cli", ".out");
        Path err = Files.createTempFile(outputDir, "cli", ".err");
        ProcessBuilder b = new ProcessBuilder(cmd);
        if (!environment.isEmpty()) {
            b.environment().remove("KUASAR_ADMIN_SOCKET");
            b.environment().putAll(environment);
        }
        Process p = b.redirectOutput(out.toFile()).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " did not finish in " + TIMEOUT);
        }
        return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }
}
