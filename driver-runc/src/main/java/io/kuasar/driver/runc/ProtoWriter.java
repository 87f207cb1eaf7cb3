package io.kuasar.driver.runc;

import java.io.ByteArrayOutputStream;

/**
 * Just enough protobuf encoding for the messages this driver hands containerd as opaque {@code Any} values (cgroup
 * metrics): varint fields, packed repeated varints and nested messages. Driver bundles carry no protobuf runtime
 * and must not import the endpoint's generated classes, so the bytes are written here.
 */
final class ProtoWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** A uint64 (or bool as 0/1) field, left out when 0 as proto3 does. */
    ProtoWriter uint64(int field, long value) {
        if (value != 0) {
            varint((long) field << 3);
            varint(value);
        }
        return this;
    }

    /** A repeated uint64 field in packed form; nothing for an empty array. */
    ProtoWriter packed(int field, long[] values) {
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
    ProtoWriter message(int field, ProtoWriter body, boolean always) {
        byte[] b = body.bytes();
        return b.length == 0 && !always ? this : bytes(field, b);
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

    byte[] bytes() {
        return out.toByteArray();
    }
}
