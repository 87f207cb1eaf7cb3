package io.kuasar.driver.kit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Test-side protobuf decoding: a message's fields by number (varints as Long, length-delimited as byte[]). */
final class ProtoReader {
    private ProtoReader() {
    }

    static Map<Integer, List<Object>> fields(byte[] b) {
        Map<Integer, List<Object>> out = new HashMap<>();
        int[] pos = {0};
        while (pos[0] < b.length) {
            long key = varint(b, pos);
            int field = (int) (key >>> 3);
            Object value;
            if ((key & 7) == 0) {
                value = varint(b, pos);
            } else if ((key & 7) == 2) {
                int len = (int) varint(b, pos);
                byte[] v = new byte[len];
                System.arraycopy(b, pos[0], v, 0, len);
                pos[0] += len;
                value = v;
            } else {
                throw new IllegalArgumentException("wire type " + (key & 7));
            }
            out.computeIfAbsent(field, k -> new ArrayList<>()).add(value);
        }
        return out;
    }

    /** The varint at {@code path} (field numbers of nested messages, the last one a varint); 0 when absent. */
    static long number(byte[] message, int... path) {
        byte[] m = message;
        for (int i = 0; i < path.length - 1; i++) {
            List<Object> v = fields(m).get(path[i]);
            if (v == null) {
                return 0;
            }
            m = (byte[]) v.get(0);
        }
        List<Object> v = fields(m).get(path[path.length - 1]);
        return v == null ? 0 : (Long) v.get(0);
    }

    private static long varint(byte[] b, int[] pos) {
        long v = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b[pos[0]++];
            v |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) {
                return v;
            }
        }
    }
}
