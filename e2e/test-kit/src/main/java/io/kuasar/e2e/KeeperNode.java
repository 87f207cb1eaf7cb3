package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The node as the keeper runs it, seen from a test that crashes it: the keeper's pid, the JVM it supervises, and
 * waiting for the keeper's replacement JVM to serve again.
 */
final class KeeperNode {
    private final NodeEnv env;
    private final Duration within;

    KeeperNode(NodeEnv env, Duration within) {
        this.env = env;
        this.within = within;
    }

    /** A count of the keeper's {@code <dir>/stats}: {@code jvm_starts N}, {@code replayed_requests N}. */
    static long stat(Path keeperDir, String key) throws IOException {
        return Files.readAllLines(keeperDir.resolve("stats")).stream().map(l -> l.split(" "))
                .filter(f -> f.length == 2 && f[0].equals(key)).mapToLong(f -> Long.parseLong(f[1])).findFirst()
                .orElseThrow(() -> new AssertionError("no " + key + " in " + keeperDir.resolve("stats")));
    }

    /** The keeper's pid, from its pid file; fails when the node does not run under a keeper. */
    long keeper() throws IOException {
        Path pidFile = env.kuasarRunDir().resolve("keeper/keeper.pid");
        assertTrue(Files.isRegularFile(pidFile), "the node runs under the keeper: " + pidFile);
        return Long.parseLong(Files.readString(pidFile).trim());
    }

    /** The java process the keeper runs, 0 if none. */
    static long jvmOf(long keeper) {
        return Processes.snapshot().stream().filter(p -> p.ppid() == keeper && p.comm().equals("java"))
                .mapToLong(Processes.Proc::pid).findFirst().orElse(0);
    }

    /**
     * The node's JVM, whichever way it runs: the pid file names the JVM itself (KUASAR_KEEPER=0) or the keeper,
     * whose java child it then is. The JVM, not the keeper, is the child subreaper runsc's processes fall to.
     */
    static long nodeJvm(NodeEnv env) throws IOException {
        long pid = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        Processes.Proc p = Processes.of(pid);
        assertTrue(p != null, "the node's pid file names " + pid + ", which does not run");
        long jvm = p.comm().equals("java") ? pid : jvmOf(pid);
        assertTrue(jvm > 0, () -> "no java process under the node's " + p);
        return jvm;
    }

    /** Waits for the keeper to run a JVM other than {@code old}; returns its pid. */
    long awaitNewJvm(long keeper, long old) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            long now = jvmOf(keeper);
            if (now > 0 && now != old) {
                return now;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the keeper " + keeper + " did not start a new JVM within " + within);
    }

    /** The new JVM listens on the sandboxer socket (the old one's file stays, refusing, until then). */
    void awaitSandboxerAnswers() throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline) {
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                ch.connect(UnixDomainSocketAddress.of(env.sandboxerSock()));
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError("the sandboxer socket " + env.sandboxerSock() + " did not answer within " + within);
    }

    /**
     * containerd's gRPC client to our sandbox Controller saw the connection drop and redials with a growing backoff
     * (grpc-go: 1 s, then 1.6 times more each time); until it has redialled, its sandbox calls fail at once with
     * UNAVAILABLE "connection refused" although the new JVM listens. Waits until a call that reaches the
     * Controller (CRI's PodSandboxStatus of {@code podId}) succeeds again.
     */
    void awaitContainerdRedials(CriClient cri, String podId) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                cri.runtime().podSandboxStatus(io.kuasar.api.cri.v1.PodSandboxStatusRequest.newBuilder()
                        .setPodSandboxId(podId).build());
                return;
            } catch (RuntimeException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new AssertionError("containerd did not reach the sandbox Controller again within " + within, last);
    }
}
