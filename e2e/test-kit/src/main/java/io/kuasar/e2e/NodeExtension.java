package io.kuasar.e2e;

import io.kuasar.api.cri.v1.VersionRequest;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Brings the node up once per JVM (scripts/containerd-up.sh, then scripts/kuasar-up.sh; both are no-ops when it
 * already runs) and resolves {@link CriClient} and {@link NodeEnv} parameters. The node is left running: the
 * scripts are idempotent and the next run is faster; tear it down with kuasar-down.sh and containerd-down.sh.
 */
public final class NodeExtension implements BeforeAllCallback, ParameterResolver {
    private static final long SCRIPT_TIMEOUT_SECONDS = 600; // a first containerd-up builds and imports images

    /** Shared by all test classes; closed by JUnit when the root context closes (end of the run). */
    private record Node(NodeEnv env, CriClient cri) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            cri.close();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        node(context);
    }

    private static Node node(ExtensionContext context) {
        return context.getRoot().getStore(ExtensionContext.Namespace.create(NodeExtension.class))
                .getOrComputeIfAbsent(Node.class, k -> start(), Node.class);
    }

    private static Node start() {
        NodeEnv env = NodeEnv.fromEnvironment();
        run(env, "containerd-up.sh");
        run(env, "kuasar-up.sh");
        CriClient cri = new CriClient(env.containerdSock());
        try {
            cri.runtime().version(VersionRequest.getDefaultInstance());
        } catch (RuntimeException e) {
            cri.close();
            throw new ExtensionConfigurationException("containerd's CRI does not answer on " + env.containerdSock(), e);
        }
        return new Node(env, cri);
    }

    private static void run(NodeEnv env, String script) {
        try {
            // Output to a file, not a pipe: containerd/java started in the background must not hold our pipe open.
            Path out = Files.createTempFile("kuasar-e2e-" + script, ".out");
            ProcessBuilder pb = new ProcessBuilder("bash", env.script(script).toString()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().put("KUASAR_REPO", env.repo().toString());
            pb.environment().put("KUASAR_TEST_HALT_FILE", env.haltFile().toString()); // CrashReplayTest's switch
            Process p = pb.start();
            boolean done = p.waitFor(SCRIPT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            Files.deleteIfExists(out);
            System.out.print(text);
            if (!done) {
                throw new ExtensionConfigurationException(script + " did not finish in " + SCRIPT_TIMEOUT_SECONDS + " s:\n" + text);
            }
            if (p.exitValue() != 0) {
                throw new ExtensionConfigurationException(script + " failed with exit code " + p.exitValue() + ":\n" + text);
            }
        } catch (IOException e) {
            throw new ExtensionConfigurationException("cannot run " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ExtensionConfigurationException("interrupted running " + script, e);
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == CriClient.class || type == NodeEnv.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Node node = node(context);
        return parameter.getParameter().getType() == CriClient.class ? node.cri() : node.env();
    }
}
