package io.kuasar.packaging;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A finished command: its exit code and its output (stdout and stderr together). */
record Run(List<String> command, int exit, String output) {

    static Run of(String... command) {
        return of(Map.of(), null, command);
    }

    /** Runs {@code command} with {@code env} added, in {@code dir} (null: ours), stdin /dev/null, up to 5 minutes. */
    static Run of(Map<String, String> env, Path dir, String... command) {
        try {
            // Output to a file: a process it starts in the background must not hold a pipe of ours open.
            Path out = Files.createTempFile("kuasar-packaging-run", ".out");
            try {
                ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                pb.environment().putAll(env);
                if (dir != null) {
                    pb.directory(dir.toFile());
                }
                Process p = pb.start();
                if (!p.waitFor(5, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    throw new AssertionError("timed out after 5 minutes: " + String.join(" ", command));
                }
                return new Run(List.of(command), p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted: " + String.join(" ", command), e);
        }
    }

    /** The output, failing with it when the command failed. */
    String ok() {
        if (exit != 0) {
            throw new AssertionError(String.join(" ", command) + " exited " + exit + ":\n" + output);
        }
        return output;
    }

    /** Whether {@code tool} is on the PATH (as the shell would find it). */
    static boolean has(String tool) {
        return of("sh", "-c", "command -v " + tool).exit == 0;
    }
}
