package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kuasar.spi.Stdio;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.netty.channel.EventLoopGroup;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The holder that keeps containerd's output FIFOs open across a JVM restart, with real FIFOs and processes. A JVM
 * killed after starting a holder and before recording its pid leaves it running; the next JVM's pumps must take it
 * over, or nothing ends it and containerd, which deletes an exited task only after EOF on its FIFOs, keeps the
 * container CONTAINER_RUNNING for ever (and a StopPodSandbox of its pod hangs).
 */
class OutputPumpsTest {
    private static final EventLoopGroup LOOP = TtrpcEventLoops.newGroup(1, "test-output-pumps");

    @TempDir
    Path dir;

    @AfterAll
    static void stopLoop() {
        LOOP.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    @Test
    void aHolderLeftUnrecordedByAKilledJvmIsTakenOverAndEndedWithTheOutput() throws Exception {
        Path stdout = stdoutFifo();
        String id = UUID.randomUUID().toString().replace("-", "");
        String marker = OutputPumps.marker(id, "");
        // containerd's reader, opened read-write so that no open of the FIFO for writing ever blocks here
        try (RandomAccessFile reader = new RandomAccessFile(stdout.toFile(), "rw")) {
            Process left = new ProcessBuilder("setsid", "bash", "-c", "exec -a \"$0\" sleep 600", marker)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(stdout.toFile())).start();
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!OutputPumps.isHolder(left.pid(), marker) && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertTrue(OutputPumps.isHolder(left.pid(), marker), "the left holder runs as sleep under its marker");
                VmProcess p = new VmProcess("", new Stdio("", stdout.toString(), "", false)); // holderPid never recorded

                try (OutputPumps pumps = new OutputPumps()) {
                    pumps.start(gone(), id, p, dir.resolve("offsets"), () -> false).toCompletableFuture()
                            .get(30, TimeUnit.SECONDS);
                }
                assertEquals(left.pid(), p.holderPid, "the left holder taken over, no second one started");
                assertTrue(left.waitFor(10, TimeUnit.SECONDS), "the left holder ended once the pumps ended");
            } finally {
                left.destroyForcibly();
            }
        }
    }

    /**
     * The holder opens the FIFOs itself, never the JVM: with no reader on the stdout FIFO yet, spawning the holder
     * returns while the holder's own open waits (the JVM's open blocked before). A JVM killed while it held a write
     * end of its own gave containerd an EOF, after which no holder's open for writing could ever return.
     */
    @Test
    void theHolderOpensTheFifosItselfSoTheJvmHoldsNoEndOfThem() throws Exception {
        Path stdout = stdoutFifo();
        String marker = OutputPumps.marker(UUID.randomUUID().toString().replace("-", ""), "");
        Process holder = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> OutputPumps.spawnHolder(marker, new String[] {stdout.toString(), null}, null),
                "spawning the holder blocked on a FIFO nobody reads");
        try {
            assertFalse(OutputPumps.isHolder(holder.pid(), marker), "a holder before its FIFO could be opened");
            try (RandomAccessFile reader = new RandomAccessFile(stdout.toFile(), "rw")) { // containerd's reader
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!OutputPumps.isHolder(holder.pid(), marker) && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertTrue(OutputPumps.isHolder(holder.pid(), marker), "the holder, once the FIFO has its reader");
            }
        } finally {
            holder.destroyForcibly();
        }
    }

    /** containerd's stdout FIFO of a process, made as containerd makes it; the test is skipped without the tools. */
    private Path stdoutFifo() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setsid")) && Files.isExecutable(Path.of("/usr/bin/mkfifo")),
                "setsid and mkfifo (util-linux, coreutils) are needed to make a holder as the driver does");
        Path stdout = dir.resolve("stdout");
        assertEquals(0, new ProcessBuilder("mkfifo", stdout.toString()).start().waitFor());
        return stdout;
    }

    /** An agent whose connection is closed: every ReadOutput fails at once and the pumps end, as when a VM goes. */
    private AgentClient gone() throws Exception {
        Path socket = dir.resolve("agent.sock");
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        AgentClient agent = AgentClient.connect(socket, LOOP);
        agent.close();
        server.close();
        return agent;
    }
}
