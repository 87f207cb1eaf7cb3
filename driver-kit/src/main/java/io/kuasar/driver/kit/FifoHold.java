package io.kuasar.driver.kit;

import io.kuasar.spi.Stdio;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps containerd's output FIFOs of a process open for writing. containerd stops reading a FIFO for good once every
 * writer has closed it, and a later writer's open then blocks for ever. A process that a crash left half-made holds
 * the only writers; removing it so a replayed Create can make it afresh would close them. Held across that removal,
 * the FIFOs stay read. Opened read-write, which never blocks on a FIFO, and never read from.
 */
public final class FifoHold implements AutoCloseable {
    private final List<FileChannel> held;

    private FifoHold(List<FileChannel> held) {
        this.held = held;
    }

    /** Holds the stdout and stderr of {@code stdio} that are FIFOs; what cannot be opened is left alone. */
    public static FifoHold of(Stdio stdio) {
        List<FileChannel> held = new ArrayList<>();
        for (String p : stdio == null ? List.<String>of() : List.of(stdio.stdout(), stdio.stderr())) {
            if (p == null || p.isEmpty() || !p.startsWith("/")) {
                continue; // no output, or a logging URI rather than a path
            }
            try {
                Path path = Path.of(p);
                if (Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                    held.add(FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE));
                }
            } catch (IOException | RuntimeException e) {
                // gone or not ours to open: nothing to hold
            }
        }
        return new FifoHold(held);
    }

    /** How many FIFOs are held. */
    public int size() {
        return held.size();
    }

    @Override
    public void close() {
        for (FileChannel c : held) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing a pipe end does not fail in a way that matters
            }
        }
        held.clear();
    }
}
