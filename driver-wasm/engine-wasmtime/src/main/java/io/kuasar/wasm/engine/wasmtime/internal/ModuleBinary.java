package io.kuasar.wasm.engine.wasmtime.internal;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The few facts of a module binary this engine needs that wasmtime-java 0.19 does not expose (it lists imports, not
 * exports or memories), and the one rewrite it makes: the linear memory's maximum. The JNI binding has no store
 * limiter, so a container's memory limit becomes the maximum of the memory the module declares, which Wasmtime
 * enforces as the spec says (memory.grow past it returns -1). Only section framing and the memory and export
 * sections are decoded; Wasmtime validates everything when it compiles.
 */
final class ModuleBinary {
    static final int PAGE = 64 * 1024;
    private static final int MEMORY_SECTION = 5;
    private static final int EXPORT_SECTION = 7;

    /** One export: its name and kind (0 function, 1 table, 2 memory, 3 global). */
    record Export(String name, int kind) {
    }

    /** A defined memory's limits in pages; max -1 when the module declares none. */
    record Limits(long min, long max) {
    }

    private final byte[] bytes;
    private final List<Export> exports = new ArrayList<>();
    private final List<Limits> memories = new ArrayList<>();
    private int memoryHeader = -1;
    private int memoryStart = -1;
    private int memoryEnd = -1;

    private ModuleBinary(byte[] bytes) {
        this.bytes = bytes;
    }

    /** IllegalArgumentException naming what is wrong when the framing is not a WebAssembly 1.0 module's. */
    static ModuleBinary parse(byte[] bytes) {
        if (bytes.length < 8 || bytes[0] != 0 || bytes[1] != 'a' || bytes[2] != 's' || bytes[3] != 'm') {
            throw new IllegalArgumentException("not a WebAssembly module (no \\0asm header)");
        }
        if (bytes[4] != 1 || bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0) {
            throw new IllegalArgumentException("WebAssembly binary version " + (bytes[4] & 0xff)
                    + " is not 1 (a component or a newer format)");
        }
        ModuleBinary m = new ModuleBinary(bytes);
        Reader r = new Reader(bytes, 8);
        while (r.pos < bytes.length) {
            int header = r.pos;
            int id = r.u8();
            long size = r.uleb();
            int start = r.pos;
            if (size > bytes.length - start) {
                throw new IllegalArgumentException("section " + id + " runs past the end of the file");
            }
            int end = start + (int) size;
            if (id == MEMORY_SECTION) {
                m.memoryHeader = header;
                m.memoryStart = start;
                m.memoryEnd = end;
                long n = r.uleb();
                for (long i = 0; i < n; i++) {
                    m.memories.add(r.limits());
                }
            } else if (id == EXPORT_SECTION) {
                long n = r.uleb();
                for (long i = 0; i < n; i++) {
                    m.exports.add(new Export(r.name(), r.u8()));
                    r.uleb();
                }
            }
            r.pos = end;
        }
        return m;
    }

    List<Export> exports() {
        return exports;
    }

    List<Limits> memories() {
        return memories;
    }

    /**
     * The module with every defined memory's maximum lowered to {@code capPages} (kept when already lower); the
     * same bytes when there is nothing to lower.
     */
    byte[] withMemoryCap(long capPages) {
        if (memoryStart < 0 || capPages <= 0) {
            return bytes;
        }
        ByteArrayOutputStream section = new ByteArrayOutputStream();
        writeUleb(section, memories.size());
        Reader r = new Reader(bytes, memoryStart);
        r.uleb();
        for (int i = 0; i < memories.size(); i++) {
            int flags = (int) r.uleb();
            Limits l = r.limitsAfter(flags);
            if (l.min() > capPages) {
                throw new IllegalArgumentException("the module's memory starts with " + (l.min() * PAGE >> 10)
                        + " KiB, more than the container's memory limit (" + (capPages * PAGE >> 10) + " KiB)");
            }
            writeUleb(section, flags | 1);
            writeUleb(section, l.min());
            writeUleb(section, l.max() < 0 ? capPages : Math.min(l.max(), capPages));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length + 16);
        out.write(bytes, 0, memoryHeader);
        out.write(MEMORY_SECTION);
        writeUleb(out, section.size());
        out.writeBytes(section.toByteArray());
        out.write(bytes, memoryEnd, bytes.length - memoryEnd);
        return out.toByteArray();
    }

    private static void writeUleb(ByteArrayOutputStream out, long v) {
        do {
            int b = (int) (v & 0x7f);
            v >>>= 7;
            out.write(v == 0 ? b : b | 0x80);
        } while (v != 0);
    }

    private static final class Reader {
        private final byte[] b;
        int pos;

        Reader(byte[] b, int pos) {
            this.b = b;
            this.pos = pos;
        }

        int u8() {
            if (pos >= b.length) {
                throw new IllegalArgumentException("the module ends in the middle of a section");
            }
            return b[pos++] & 0xff;
        }

        long uleb() {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                int x = u8();
                v |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return v;
                }
            }
            throw new IllegalArgumentException("a LEB128 number of the module is too long");
        }

        String name() {
            long n = uleb();
            if (n > b.length - pos) {
                throw new IllegalArgumentException("an export name runs past the end of the file");
            }
            String s = new String(b, pos, (int) n, java.nio.charset.StandardCharsets.UTF_8);
            pos += (int) n;
            return s;
        }

        Limits limits() {
            return limitsAfter((int) uleb());
        }

        /** Flags: bit 0 a maximum follows, bit 1 shared (threads), bit 2 memory64. */
        Limits limitsAfter(int flags) {
            if ((flags & ~0x7) != 0) {
                throw new IllegalArgumentException("unknown memory limits flags " + flags);
            }
            long min = uleb();
            long max = (flags & 1) != 0 ? uleb() : -1;
            return new Limits(min, max);
        }
    }
}
