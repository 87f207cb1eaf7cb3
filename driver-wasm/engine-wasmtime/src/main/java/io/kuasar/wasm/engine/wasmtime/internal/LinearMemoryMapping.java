package io.kuasar.wasm.engine.wasmtime.internal;

import com.kenai.jffi.MemoryIO;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How much of a running module's linear memory is accessible, read from the kernel's view of the node's address
 * space, not from Wasmtime: wasmtime-java locks the Store for the whole of a call, so asking it (Memory.size) from
 * a stats request would wait until the module ends. Wasmtime 7 reserves a memory's address range inaccessible and
 * makes its first {@code size} bytes read-write (mprotect; the module's data image may be a copy-on-write mapping of
 * its own at the start), so the accessible bytes are the read-write mappings that follow the memory's base.
 */
final class LinearMemoryMapping {
    private final long base;

    private LinearMemoryMapping(long base) {
        this.base = base;
    }

    /** The memory whose current buffer (Memory.buffer, a direct ByteBuffer over it) is {@code view}. */
    static LinearMemoryMapping of(ByteBuffer view) {
        return new LinearMemoryMapping(MemoryIO.getInstance().getDirectBufferAddress(view));
    }

    /** Read-write bytes from the base on; 0 when the mapping is gone (the run ended) or cannot be read. */
    long accessibleBytes() {
        try {
            return accessibleBytes(Files.readAllLines(Path.of("/proc/self/maps")), base);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    /** Lines of /proc/PID/maps: "start-end perms offset dev inode path", ascending. */
    static long accessibleBytes(List<String> maps, long base) {
        long total = 0;
        long next = base;
        for (String line : maps) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
            if (start < next) {
                continue;
            }
            if (start > next || !line.startsWith("rw", space + 1)) {
                break;
            }
            long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            total += end - start;
            next = end;
        }
        return total;
    }
}
