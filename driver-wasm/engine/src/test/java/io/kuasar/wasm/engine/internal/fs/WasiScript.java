package io.kuasar.wasm.engine.internal.fs;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a tiny real WASI module (binary format, written here; no toolchain needed): its _start makes a fixed
 * sequence of WASI calls, stores each call's errno in a result slot of its linear memory, and finally writes its
 * memory from address 0 to stdout, so that a test reads back errnos, descriptors and buffers. Strings, iovecs and
 * buffers live in one data segment from {@link #HEAP}.
 */
final class WasiScript {
    static final int HEAP = 1024;
    static final int DUMP = 8192;
    /** WASI preview 1 signatures used here: i = i32, I = i64; every one returns an i32 errno. */
    private static final Map<String, String> SIGNATURES = Map.ofEntries(
            Map.entry("path_open", "iiiiiIIii"), Map.entry("fd_read", "iiii"), Map.entry("fd_write", "iiii"),
            Map.entry("fd_close", "i"), Map.entry("path_create_directory", "iii"),
            Map.entry("path_symlink", "iiiii"), Map.entry("path_link", "iiiiiii"),
            Map.entry("path_unlink_file", "iii"), Map.entry("path_remove_directory", "iii"),
            Map.entry("path_rename", "iiiiii"), Map.entry("path_readlink", "iiiiii"),
            Map.entry("path_filestat_get", "iiiii"), Map.entry("path_filestat_set_times", "iiiiIIi"),
            Map.entry("fd_readdir", "iiiIi"));

    /** An argument: a constant, or an i32 read from memory (a descriptor an earlier call stored). */
    record Arg(char type, long value, boolean load) {
    }

    private final Map<String, Integer> imports = new LinkedHashMap<>();
    private final ByteArrayOutputStream code = new ByteArrayOutputStream();
    private final ByteBuffer data = ByteBuffer.allocate(DUMP - HEAP).order(ByteOrder.LITTLE_ENDIAN);
    private int slots;

    static Arg i(long v) {
        return new Arg('i', v, false);
    }

    static Arg l(long v) {
        return new Arg('I', v, false);
    }

    static Arg load(int addr) {
        return new Arg('i', addr, true);
    }

    /** Bytes placed in memory; returns their address. */
    int bytes(byte[] b) {
        int at = HEAP + data.position();
        data.put(b);
        while (data.position() % 8 != 0) {
            data.put((byte) 0);
        }
        return at;
    }

    int alloc(int n) {
        return bytes(new byte[n]);
    }

    /** A string as (pointer, length) arguments. */
    Arg[] str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return new Arg[] {i(bytes(b)), i(b.length)};
    }

    /** One iovec {buf, len}. */
    int iov(int buf, int len) {
        return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(buf).putInt(len).array());
    }

    /** Appends a call; returns the address of its errno slot. */
    int call(String fn, Object... args) {
        List<Arg> flat = new ArrayList<>();
        for (Object a : args) {
            if (a instanceof Arg[]) {
                flat.addAll(List.of((Arg[]) a));
            } else {
                flat.add((Arg) a);
            }
        }
        String sig = SIGNATURES.get(fn);
        if (sig.length() != flat.size()) {
            throw new IllegalArgumentException(fn + " takes " + sig.length() + " arguments");
        }
        int slot = 4 * slots++;
        if (slot >= HEAP) {
            throw new IllegalStateException("too many calls");
        }
        int index = imports.computeIfAbsent(fn, k -> imports.size());
        op(0x41);
        sleb(code, slot);
        for (int k = 0; k < flat.size(); k++) {
            Arg a = flat.get(k);
            if (a.type() != sig.charAt(k)) {
                throw new IllegalArgumentException(fn + " argument " + k + " is " + sig.charAt(k));
            }
            op(a.type() == 'I' ? 0x42 : 0x41);
            sleb(code, a.value());
            if (a.load()) {
                op(0x28); // i32.load align=2 offset=0
                op(2);
                op(0);
            }
        }
        op(0x10);
        uleb(code, index);
        op(0x36); // i32.store align=2 offset=0
        op(2);
        op(0);
        return slot;
    }

    private void op(int b) {
        code.write(b);
    }

    /** The module: the calls, then fd_write(1, memory[0, DUMP)). */
    byte[] build() {
        int nwritten = alloc(8);
        int all = iov(0, DUMP);
        call("fd_write", i(1), i(all), i(1), i(nwritten));
        List<String> fns = new ArrayList<>(imports.keySet());
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        m.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
        ByteArrayOutputStream types = new ByteArrayOutputStream();
        uleb(types, fns.size() + 1);
        for (String f : fns) {
            String sig = SIGNATURES.get(f);
            types.write(0x60);
            uleb(types, sig.length());
            sig.chars().forEach(c -> types.write(c == 'I' ? 0x7e : 0x7f));
            types.write(1);
            types.write(0x7f);
        }
        types.writeBytes(new byte[] {0x60, 0, 0});
        section(m, 1, types);
        ByteArrayOutputStream imp = new ByteArrayOutputStream();
        uleb(imp, fns.size());
        for (int k = 0; k < fns.size(); k++) {
            name(imp, "wasi_snapshot_preview1");
            name(imp, fns.get(k));
            imp.write(0);
            uleb(imp, k);
        }
        section(m, 2, imp);
        ByteArrayOutputStream func = new ByteArrayOutputStream();
        func.write(1);
        uleb(func, fns.size());
        section(m, 3, func);
        section(m, 5, bytes(1, 0, 1)); // one memory, min 1 page
        ByteArrayOutputStream exp = new ByteArrayOutputStream();
        exp.write(2);
        name(exp, "memory");
        exp.writeBytes(new byte[] {2, 0});
        name(exp, "_start");
        exp.write(0);
        uleb(exp, fns.size());
        section(m, 7, exp);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(0); // no locals
        body.writeBytes(code.toByteArray());
        body.write(0x0b);
        ByteArrayOutputStream codeSec = new ByteArrayOutputStream();
        codeSec.write(1);
        uleb(codeSec, body.size());
        codeSec.writeBytes(body.toByteArray());
        section(m, 10, codeSec);
        ByteArrayOutputStream dat = new ByteArrayOutputStream();
        dat.writeBytes(new byte[] {1, 0, 0x41});
        sleb(dat, HEAP);
        dat.write(0x0b);
        uleb(dat, data.position());
        dat.write(data.array(), 0, data.position());
        section(m, 11, dat);
        return m.toByteArray();
    }

    private static ByteArrayOutputStream bytes(int... b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int x : b) {
            o.write(x);
        }
        return o;
    }

    private static void section(ByteArrayOutputStream m, int id, ByteArrayOutputStream content) {
        m.write(id);
        uleb(m, content.size());
        m.writeBytes(content.toByteArray());
    }

    private static void name(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        uleb(o, b.length);
        o.writeBytes(b);
    }

    private static void uleb(ByteArrayOutputStream o, long v) {
        do {
            int b = (int) (v & 0x7f);
            v >>>= 7;
            o.write(v != 0 ? b | 0x80 : b);
        } while (v != 0);
    }

    private static void sleb(ByteArrayOutputStream o, long v) {
        while (true) {
            int b = (int) (v & 0x7f);
            v >>= 7;
            boolean done = (v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0);
            o.write(done ? b : b | 0x80);
            if (done) {
                return;
            }
        }
    }
}
