package io.kuasar.driver.kit;

import java.io.ByteArrayOutputStream;

/**
 * Just enough protobuf encoding for the messages drivers hand containerd as opaque {@code Any} values (cgroup
 * metrics, process details): varint fields, packed repeated varints, strings and nested messages. Driver bundles
 * carry no protobuf runtime and must not import the endpoint's generated classes, so the bytes are written here.
 */
public final class ProtoWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A uint64 (or bool as 0/1) field, left out when 0 as proto3 does. */
    public ProtoWriter uint64(int field, long value) {
        if (value != 0) {
            varint((long) field << 3);
            varint(value);
        }
        return this;
    }

    /** A repeated uint64 field in packed form; nothing for an empty array. */
    public ProtoWriter packed(int field, long[] values) {
        if (values.length == 0) {
            return this;
        }
        ProtoWriter body = new ProtoWriter();
        for (long v : values) {
            body.varint(v);
        }
        return bytes(field, body.bytes());
    }

    /** A nested message; written even when empty if {@code always}, so the reader sees the field set. */
    public ProtoWriter message(int field, ProtoWriter body, boolean always) {
        byte[] b = body.bytes();
        return b.length == 0 && !always ? this : bytes(field, b);
    }

    /** A string field, left out when empty as proto3 does. */
    public ProtoWriter string(int field, String value) {
        return value.isEmpty() ? this : bytes(field, value.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private ProtoWriter bytes(int field, byte[] b) {
        varint(((long) field << 3) | 2);
        varint(b.length);
        out.writeBytes(b);
        return this;
    }

    private void varint(long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }

    public byte[] bytes() {
        return out.toByteArray();
    }
}
