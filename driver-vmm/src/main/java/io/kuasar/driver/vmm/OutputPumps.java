package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.vmm.agent.proto.OutputResponse;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Copies a guest process's stdout and stderr to containerd's FIFOs: one thread per stream long-polls the agent's
 * ReadOutput and writes what comes (a FIFO write blocks while containerd does not read: the back pressure the
 * agent's bounded buffer relies on, so never on an event loop).
 *
 * <p>containerd's copier ends a stream at the first EOF, i.e. when the last writer closes the FIFO. The JVM's own
 * write end dies with the JVM, so a holder process ({@code sleep}, own session, argv {@code kuasar-vmm-hold-ID})
 * keeps both FIFOs open for writing while the process runs; it is ended once the output is delivered. After a
 * restart of the JVM the next instance writes through new ends while the holder kept the streams open. The holder
 * also has the stdin FIFO open for reading (never read): containerd's input waits there while no instance copies it
 * ({@link InputPumps}).
 */
final class OutputPumps implements AutoCloseable {
    private static final Logger LOG = System.getLogger(OutputPumps.class.getName());
    static final String HOLDER_PREFIX = "kuasar-vmm-hold-";
    /** Most time a new holder may take to become {@code sleep} under its marker (a loaded host is slow to exec). */
    private static final long HOLDER_EXEC_WAIT_NANOS = 10_000_000_000L;

    private volatile boolean closing;
    private final ExecutorService threads = Executors.newCachedThreadPool(DaemonThreads.named("kuasar-vmm-output"));

    /**
     * Starts the pumps of {@code p}; the stage completes once every stream reached EOF (or failed). How far each
     * stream was delivered is kept in {@code offsets} (a directory of the pod), so the pumps of a restarted driver go
     * on from there instead of from the agent's oldest unacknowledged byte, which would deliver again what the
     * previous JVM wrote but had not acknowledged yet (an ExecSync answering its output twice).
     */
    CompletionStage<Void> start(AgentClient agent, String containerId, VmProcess p, Path offsets) {
        String[] targets = new String[2];
        targets[0] = GuestStdio.fifo(p.stdio.stdout(), "stdout");
        targets[1] = GuestStdio.fifo(p.stdio.stderr(), "stderr");
        if (targets[0] == null && targets[1] == null) {
            return CompletableFuture.completedFuture(null);
        }
        String marker = HOLDER_PREFIX + containerId + (p.execId.isEmpty() ? "" : "-" + p.execId);
        if (p.holderPid > 0 && !isHolder(p.holderPid, marker)) {
            // A holder is ended only once its process's output reached EOF: a previous JVM delivered all of it, and
            // containerd, having seen EOF, reads the FIFOs no more (opening one to write would block for ever).
            return CompletableFuture.completedFuture(null);
        }
        if (!isHolder(p.holderPid, marker)) {
            // A JVM killed between starting a holder and recording its pid left one: taken over, since nothing else
            // would end it, and containerd deletes an exited task only after EOF (CONTAINER_RUNNING for ever)
            long left = leftHolder(marker);
            p.holderPid = left > 0 ? left : startHolder(marker, targets, GuestStdio.fifo(p.stdio.stdin(), "stdin"));
        }
        List<CompletableFuture<Boolean>> done = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            if (targets[i] != null) {
                int stream = i + 1;
                String target = targets[i];
                Path offset = offsetFile(offsets, containerId, p.execId, stream);
                done.add(CompletableFuture.supplyAsync(() -> pump(agent, containerId, p.execId, stream, target,
                        offset), threads));
            }
        }
        CompletableFuture<Void> all = CompletableFuture.allOf(done.toArray(new CompletableFuture[0]));
        return all.whenComplete((v, t) -> {
            boolean delivered = done.stream().allMatch(d -> Boolean.TRUE.equals(d.getNow(false)));
            // Every stream reached EOF: containerd must see it, even from an instance being stopped (its successor
            // does not pump an ended process again, so nothing else would end the holder: an ExecSync across an
            // upgrade waited for EOF for ever). Else a driver being stopped or upgraded leaves the streams open for
            // its successor.
            if (delivered || !closing) {
                endHolder(p.holderPid, marker);
            }
        });
    }

    /**
     * The holder opens the FIFOs itself (bash's redirections, before it execs sleep under the marker), never the JVM:
     * a JVM killed before the holder runs has held no write end whose closing containerd would take for EOF (its copy
     * would end, and the next holder's open for writing block for ever), and one killed after leaves a holder the
     * next JVM finds by its marker ({@link #leftHolder}). A failed open is said by bash on the node's log.
     */
    private static long startHolder(String marker, String[] targets, String stdin) {
        try {
            long pid = awaitExec(spawnHolder(marker, targets, stdin).pid(), marker);
            if (!isHolder(pid, marker)) {
                LOG.log(Level.WARNING, "vmm: the holder of " + marker + " did not start; output may end at a restart");
            }
            return pid;
        } catch (IOException e) {
            LOG.log(Level.WARNING, "vmm: no holder for the streams of " + marker + "; output may end at a restart", e);
            return 0;
        }
    }

    /** The holder's process, not waited for: it becomes the holder once its FIFOs are open. */
    static Process spawnHolder(String marker, String[] targets, String stdin) throws IOException {
        String none = Commands.DEV_NULL.getPath();
        return new ProcessBuilder("setsid", "bash", "-c", "exec -a \"$0\" sleep 2147483647 <\"$1\" >>\"$2\" 2>>\"$3\"",
                marker, stdin == null ? none : stdin, targets[0] == null ? none : targets[0],
                targets[1] == null ? none : targets[1])
                .redirectInput(ProcessBuilder.Redirect.from(Commands.DEV_NULL))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    /**
     * Until bash has exec'd sleep under the marker, isHolder() does not know it, so an endHolder() then (a process
     * that exits at once delivers its EOF within milliseconds) would leave it, and containerd waiting for EOF on the
     * FIFOs for ever: a stopped container that can never be deleted.
     */
    private static long awaitExec(long pid, String marker) {
        long deadline = System.nanoTime() + HOLDER_EXEC_WAIT_NANOS;
        while (!isHolder(pid, marker) && ProcessHandle.of(pid).isPresent() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return pid;
    }

    /**
     * A holder of {@code marker} that runs though no pid was recorded for it, or 0. Found by its arguments, which
     * name the marker from its fork on (setsid, bash, then sleep under the marker's name); a second one, which
     * would hold the FIFOs as long, is ended.
     */
    static long leftHolder(String marker) {
        long found = 0;
        for (long pid : holdersOf(marker)) {
            if (found == 0) {
                found = awaitExec(pid, marker);
                LOG.log(Level.INFO, "vmm: holder {0} of {1} was left by a node process killed before recording it",
                        Long.toString(pid), marker);
            } else {
                endHolder(awaitExec(pid, marker), marker);
            }
        }
        return found;
    }

    private static List<Long> holdersOf(String marker) {
        long self = ProcessHandle.current().pid();
        return ProcStat.pids().stream().filter(pid -> pid != self && ProcStat.cmdline(pid).contains(marker)).toList();
    }

    static boolean isHolder(long pid, String marker) {
        List<String> argv = pid > 0 ? ProcStat.cmdline(pid) : List.of();
        return !argv.isEmpty() && argv.get(0).equals(marker);
    }

    /** Ends the holder of a process's streams, if it is still the holder (pids are reused). */
    static void endHolder(long pid, String marker) {
        if (isHolder(pid, marker)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
        }
    }

    static String marker(String containerId, String execId) {
        return HOLDER_PREFIX + containerId + (execId.isEmpty() ? "" : "-" + execId);
    }

    static Path offsetFile(Path offsets, String containerId, String execId, int stream) {
        return offsets.resolve(containerId + (execId.isEmpty() ? "" : "-" + execId) + "." + stream + ".offset");
    }

    /** Removes what the pumps recorded of a process (at its Delete). */
    static void forget(Path offsets, String containerId, String execId) {
        for (int stream = 1; stream <= 2; stream++) {
            try {
                Files.deleteIfExists(offsetFile(offsets, containerId, execId, stream));
            } catch (IOException ignored) {
                // the pod's directory goes at its shutdown
            }
        }
    }

    /**
     * Delivers one stream; true once it reached EOF. The offset file is written after each write to the FIFO and
     * before the next request acknowledges it to the agent: a JVM killed between the two delivers that one chunk
     * again (at least once, never lost); a JVM killed anywhere else delivers nothing twice.
     */
    private static boolean pump(AgentClient agent, String containerId, String execId, int stream, String target,
                             Path offsetFile) {
        try (OutputStream out = new FileOutputStream(target, true);
             FileChannel offset = openOffset(offsetFile)) {
            ByteBuffer delivered = ByteBuffer.allocate(Long.BYTES);
            long next = 0; // nothing recorded (or a torn record): from the agent's oldest unacknowledged byte
            if (offset.read(delivered, 0) == Long.BYTES) {
                next = delivered.flip().getLong();
            }
            while (true) {
                OutputResponse r = agent.readOutput(containerId, execId, stream, next).join();
                if (!r.getData().isEmpty()) {
                    r.getData().writeTo(out);
                    out.flush();
                }
                next = r.getOffset() + r.getData().size();
                offset.write(delivered.clear().putLong(next).flip(), 0); // one pwrite per chunk
                if (r.getEof()) {
                    return true;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "output " + stream + " of " + containerId + "/" + execId + " ended", e);
            return false;
        }
    }

    /** The file a pump keeps its delivered offset in: 8 bytes, big-endian; empty when nothing was delivered yet. */
    private static FileChannel openOffset(Path offsetFile) throws IOException {
        Files.createDirectories(offsetFile.getParent());
        return FileChannel.open(offsetFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
    }

    /** From now on ending pumps leave the holders running: a successor instance takes the streams over. */
    void retire() {
        closing = true;
    }

    @Override
    public void close() {
        retire();
        threads.shutdownNow();
    }
}
