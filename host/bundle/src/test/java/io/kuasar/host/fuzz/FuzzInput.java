package io.kuasar.host.fuzz;

import java.util.Arrays;

/**
 * A cursor over a fuzzer's bytes, for targets that take a few choices and then a body. Past the end every read
 * gives zeros, so any input is valid. Shared with the other modules as kuasar-host's test-jar.
 */
public final class FuzzInput {
    private final byte[] data;
    private int pos;

    public FuzzInput(byte[] data) {
        this.data = data;
    }

    public int u8() {
        return pos < data.length ? data[pos++] & 0xFF : 0;
    }

    public int u16() {
        return u8() << 8 | u8();
    }

    public long u32() {
        return (long) u16() << 16 | u16();
    }

    public boolean bool() {
        return (u8() & 1) != 0;
    }

    /** Up to {@code n} bytes (fewer at the end). */
    public byte[] bytes(int n) {
        int k = Math.max(0, Math.min(n, data.length - pos));
        byte[] out = Arrays.copyOfRange(data, pos, pos + k);
        pos += k;
        return out;
    }

    /** All that is left. */
    public byte[] rest() {
        return bytes(data.length - pos);
    }

    public int remaining() {
        return data.length - pos;
    }
}
