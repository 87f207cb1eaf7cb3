package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Hostile bytes on every socket of a running node with 10 pods: one pod's task socket (through the keeper), the
 * sandbox Controller's gRPC socket and the admin socket each get garbage, truncated, oversized and wrong-protobuf
 * frames, calls they never let finish, and a reader that never reads, all at once. Meanwhile the other pods must
 * keep answering ExecSync near their usual latency, and afterwards the node must be the same JVM (no crash, no
 * OutOfMemoryError: it stayed within its -Xmx) and serve every pod, the attacked one included.
 */
class HostileClientsTest extends CriTestBase {
    private static final int PODS = 10;
    private static final long ATTACK_MILLIS = 8_000;

    @Test
    void garbageOnEverySocketLeavesThePodsServed() throws Exception {
        List<String> pods = new ArrayList<>();
        List<String> sleepers = new ArrayList<>();
        for (int i = 0; i < PODS; i++) {
            PodSandboxConfig pod = podConfig("hostile-" + i);
            String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
            pods.add(podId);
            sleepers.add(cri.runContainer(podId, pod, CriClient.containerConfig("s", busybox(), "sleep", "3600")));
        }
        for (String s : sleepers) {
            cri.waitForState(s, io.kuasar.api.cri.v1.ContainerState.CONTAINER_RUNNING, WAIT);
        }
        long jvm = nodeJvm();
        long mark = nodeLogMark();
        long baseline = medianExecMillis(sleepers.subList(1, PODS), 3);

        Path taskSocket = env.kuasarRunDir().resolve("task").resolve(socketName(pods.get(0)));
        assertTrue(Files.exists(taskSocket), "pod 0's task socket " + taskSocket);
        // The attackers run in a process of their own at the lowest CPU priority: on a small machine they would
        // otherwise win by taking the CPU, which says nothing about the node. What is measured is what the node
        // does with their bytes.
        Process attack = new ProcessBuilder("nice", "-n", "19", Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), Attackers.class.getName(),
                Long.toString(ATTACK_MILLIS), sleepers.get(0), taskSocket.toString(), env.sandboxerSock().toString(),
                env.kuasarRunDir().resolve("admin.sock").toString()).inheritIO().start();
        Thread.sleep(1_500);
        long during = medianExecMillis(sleepers.subList(1, PODS), 3);
        assertTrue(attack.waitFor(ATTACK_MILLIS + 60_000, TimeUnit.MILLISECONDS), "the attackers did not end");

        System.out.printf("ExecSync median over %d pods: %d ms before, %d ms under attack%n", PODS - 1, baseline, during);
        String log = nodeLogSince(mark);
        assertAll(
                () -> assertTrue(during <= Math.max(3 * baseline, baseline + 250), "ExecSync slowed from " + baseline
                        + " ms to " + during + " ms under the attack"),
                () -> assertEquals(jvm, nodeJvm(), "the node's JVM was replaced: it crashed under the attack"),
                () -> assertTrue(!log.contains("OutOfMemoryError"), "the node ran out of memory"),
                () -> {
                    for (String s : sleepers) { // every pod answers, the attacked one too
                        ExecSyncResponse r = execSync(s, "echo", "after");
                        assertEquals("after\n", r.getStdout().toStringUtf8(), s);
                    }
                });
    }

    /**
     * The attackers, as a program of their own: {@code Attackers MILLIS CONTAINER TASK_SOCKET CONTROLLER_SOCKET
     * ADMIN_SOCKET}. Every socket gets garbage, truncated, oversized and wrong-protobuf frames in loops and a reader
     * that never reads; the task socket also thousands of Wait calls for CONTAINER that it never lets finish.
     */
    static final class Attackers {
        public static void main(String[] args) throws Exception {
            long millis = Long.parseLong(args[0]);
            String container = args[1];
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService attackers = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r);
                t.setDaemon(true); // a connect blocked in a full backlog must not keep this process alive
                return t;
            });
            for (int i = 2; i < args.length; i++) {
                Path target = Path.of(args[i]);
                attackers.submit(() -> loop(stop, () -> garbage(target)));
                attackers.submit(() -> loop(stop, () -> truncated(target)));
                attackers.submit(() -> loop(stop, () -> oversized(target)));
                attackers.submit(() -> loop(stop, () -> wrongProtobuf(target)));
                attackers.submit(() -> neverReads(target, stop));
            }
            attackers.submit(() -> callsThatNeverFinish(Path.of(args[2]), container, stop));
            Thread.sleep(millis);
            stop.set(true);
            attackers.shutdownNow();
            attackers.awaitTermination(5, TimeUnit.SECONDS);
            System.exit(0);
        }

        private interface Attack {
            void run() throws Exception;
        }

        private static void loop(AtomicBoolean stop, Attack attack) {
            while (!stop.get()) {
                try {
                    attack.run();
                } catch (Exception expected) {
                    // the node closed the connection: what it should do
                }
            }
        }

        private static SocketChannel open(Path socket) throws IOException {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(socket));
            return ch;
        }

        private static void write(SocketChannel ch, byte[] b) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }

        private static byte[] frame(int length, int stream, int type, byte[] payload) {
            ByteBuffer b = ByteBuffer.allocate(10 + payload.length);
            b.putInt(length).putInt(stream).put((byte) type).put((byte) 0).put(payload);
            return b.array();
        }

        private static void garbage(Path target) throws IOException {
            byte[] junk = new byte[256 * 1024];
            new Random().nextBytes(junk);
            try (SocketChannel ch = open(target)) {
                write(ch, junk);
            }
        }

        /** A header announcing 1000 bytes, then 10 of them, then the connection held open a while. */
        private static void truncated(Path target) throws Exception {
            try (SocketChannel ch = open(target)) {
                write(ch, frame(1000, 1, 1, new byte[10]));
                Thread.sleep(500);
            }
        }

        /** A request announcing 64 MiB (over every limit), and the first MiB of it. */
        private static void oversized(Path target) throws IOException {
            try (SocketChannel ch = open(target)) {
                write(ch, frame(64 << 20, 1, 1, new byte[1 << 20]));
            }
        }

        /** A well-framed request whose payload is not a ttrpc Request (nor HTTP/2, nor an admin command). */
        private static void wrongProtobuf(Path target) throws IOException {
            try (SocketChannel ch = open(target)) {
                write(ch, frame(6, 1, 1, new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0a, 0x7f}));
                write(ch, "frobnicate \0\n".getBytes(StandardCharsets.UTF_8));
            }
        }

        /** Sends valid-looking requests without end and never reads an answer. */
        private static void neverReads(Path target, AtomicBoolean stop) {
            byte[] state = taskRequest("State", new byte[0]);
            try (SocketChannel ch = open(target)) {
                ch.configureBlocking(false);
                for (int stream = 1; !stop.get(); stream += 2) {
                    ByteBuffer b = ByteBuffer.wrap(frame(state.length, stream, 1, state));
                    while (b.hasRemaining() && !stop.get()) {
                        if (ch.write(b) == 0) {
                            Thread.sleep(10); // the node stopped reading us: good
                        }
                    }
                }
            } catch (Exception closed) {
                // closed by the node
            }
        }

        /** Thousands of Wait calls for a running container on one connection: none of them finishes. */
        private static void callsThatNeverFinish(Path taskSocket, String container, AtomicBoolean stop) {
            byte[] id = container.getBytes(StandardCharsets.UTF_8);
            byte[] waitPayload = ByteBuffer.allocate(2 + id.length).put((byte) 0x0a).put((byte) id.length).put(id).array();
            byte[] waitReq = taskRequest("Wait", waitPayload);
            try (SocketChannel ch = open(taskSocket)) {
                for (int stream = 1; stream < 20_000 && !stop.get(); stream += 2) {
                    write(ch, frame(waitReq.length, stream, 1, waitReq));
                }
                while (!stop.get()) {
                    Thread.sleep(100);
                }
            } catch (Exception closed) {
                // closed by the node
            }
        }

        /** A ttrpc Request{service=containerd.task.v3.Task, method, payload} encoded by hand. */
        private static byte[] taskRequest(String method, byte[] payload) {
            byte[] service = "containerd.task.v3.Task".getBytes(StandardCharsets.UTF_8);
            byte[] m = method.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(6 + service.length + m.length + payload.length);
            b.put((byte) 0x0a).put((byte) service.length).put(service).put((byte) 0x12).put((byte) m.length).put(m)
                    .put((byte) 0x1a).put((byte) payload.length).put(payload);
            return b.array();
        }
    }

    private long medianExecMillis(List<String> containers, int rounds) {
        List<Long> t = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            for (String c : containers) {
                long t0 = System.nanoTime();
                assertEquals(0, execSync(c, "true").getExitCode());
                t.add((System.nanoTime() - t0) / 1_000_000);
            }
        }
        Collections.sort(t);
        return t.get(t.size() / 2);
    }

    /** The node's JVM: the child of the keeper when one runs, else the pid in kuasar.pid. */
    private long nodeJvm() throws IOException {
        return KeeperNode.nodeJvm(env);
    }

    private static String socketName(String sandboxId) throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256").digest(sandboxId.getBytes(StandardCharsets.UTF_8));
        return HexFormat.of().formatHex(d, 0, 8) + ".sock";
    }
}
