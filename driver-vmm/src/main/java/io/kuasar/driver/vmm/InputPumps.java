package io.kuasar.driver.vmm;

import com.google.protobuf.ByteString;
import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;

/**
 * Copies containerd's stdin FIFO of a guest process to the agent (WriteStdin), one thread per process. containerd
 * closes its write end when the client's input ends (StdinOnce, CloseIO): the copier reads end-of-file and has the
 * agent close the process's stdin (a terminal's reader gets ^D). The stream holder of {@link OutputPumps} keeps the
 * FIFO open for reading without reading it, so containerd's writes do not fail while no driver instance reads (an
 * upgrade, a restart): they wait in the pipe for the next instance.
 */
final class InputPumps implements AutoCloseable {
    private static final Logger LOG = System.getLogger(InputPumps.class.getName());
    private static final int CHUNK = 32 * 1024;
    /** The pause before input is offered again to a process whose pipe or terminal is full. */
    private static final long FULL_RETRY_MILLIS = 5;

    private final Set<Copier> copiers = ConcurrentHashMap.newKeySet();
    private final ThreadFactory threads = DaemonThreads.named("kuasar-vmm-input", 256 * 1024);
    private volatile boolean closing;

    /** Starts copying the stdin of {@code p}, if it has one; the copier is closed when the process ends. */
    AutoCloseable start(AgentClient agent, String containerId, VmProcess p) {
        String fifo = GuestStdio.fifo(p.stdio.stdin(), "stdin");
        if (fifo == null || closing) {
            return () -> { };
        }
        Copier c = new Copier(agent, containerId, p.execId, Path.of(fifo));
        copiers.add(c);
        threads.newThread(c::run).start();
        return c;
    }

    /** From now on the copiers stop without closing any stdin: a successor instance takes the FIFOs over. */
    @Override
    public void close() {
        closing = true;
        copiers.forEach(Copier::close);
    }

    private final class Copier implements AutoCloseable {
        private final AgentClient agent;
        private final String containerId;
        private final String execId;
        private final Path fifo;
        private volatile FileChannel channel;
        private volatile boolean stopped;

        Copier(AgentClient agent, String containerId, String execId, Path fifo) {
            this.agent = agent;
            this.containerId = containerId;
            this.execId = execId;
            this.fifo = fifo;
        }

        void run() {
            // opening blocks until containerd holds the write end, so it happens here, not on the caller's thread
            try (FileChannel in = FileChannel.open(fifo, StandardOpenOption.READ)) {
                channel = in;
                ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
                while (!stopped && in.read(chunk.clear()) >= 0) {
                    forward(ByteString.copyFrom(chunk.flip()));
                }
                if (!stopped && !closing) {
                    agent.closeStdin(containerId, execId); // containerd closed stdin: so does the process's
                }
            } catch (IOException | SandboxException e) {
                // closed by close() (AsynchronousCloseException), or the process or its VM is gone
                LOG.log(Level.DEBUG, "stdin of " + containerId + "/" + execId + " ended", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                copiers.remove(this);
            }
        }

        private void forward(ByteString data) throws SandboxException, InterruptedException {
            while (!data.isEmpty() && !stopped) {
                long taken = agent.writeStdin(containerId, execId, data);
                if (taken < 0 || taken > data.size()) { // the guest is untrusted: a count it cannot have taken
                    throw new SandboxException(SandboxException.Code.INTERNAL, "the agent says it took " + taken
                            + " of " + data.size() + " bytes of input");
                }
                data = data.substring((int) taken);
                if (taken == 0) {
                    Thread.sleep(FULL_RETRY_MILLIS);
                }
            }
        }

        /** Ends the copying; a read in progress ends at once (closing a FileChannel wakes its blocked reader). */
        @Override
        public void close() {
            stopped = true;
            FileChannel c = channel;
            if (c != null) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // a pipe's read end closes without a failure that matters
                }
            }
        }
    }
}
