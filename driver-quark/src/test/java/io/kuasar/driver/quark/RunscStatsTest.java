package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.CodedInputStream;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The hand-encoded cgroups v1 Metrics, decoded field by field with protobuf-java (field numbers of metrics.proto). */
class RunscStatsTest {
    /** What runsc 20240729 printed for a busybox container holding a 20 MB string. */
    static final String RUNSC_2024 = "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{\"cpu\":{\"usage\":{\"total\":3858319862}},"
            + "\"memory\":{\"usage\":{\"limit\":0,\"usage\":22757376,\"failcnt\":0},\"swap\":{\"limit\":0,\"failcnt\":0},"
            + "\"kernel\":{\"limit\":0,\"failcnt\":0},\"kernelTCP\":{\"limit\":0,\"failcnt\":0}},\"pids\":{\"current\":4},"
            + "\"network_interfaces\":[{\"Name\":\"lo\",\"RxBytes\":0}]}}\n";

    /** A fuller runc-format event, every field this encoder maps. */
    static final String FULL = "{\"type\":\"stats\",\"id\":\"c2\",\"data\":{\"cpu\":{\"usage\":{\"total\":300,\"kernel\":100,"
            + "\"user\":200,\"percpu\":[150,150]},\"throttling\":{\"periods\":7,\"throttledPeriods\":2,"
            + "\"throttledTime\":9}},\"memory\":{\"cache\":4096,\"usage\":{\"limit\":1073741824,\"usage\":5000000,"
            + "\"max\":6000000,\"failcnt\":1},\"swap\":{\"limit\":5,\"usage\":6},\"raw\":{\"total_inactive_file\":1000,"
            + "\"total_rss\":4000000,\"total_pgfault\":77,\"total_pgmajfault\":3}},"
            + "\"pids\":{\"current\":3,\"limit\":100}}}";

    @Test
    void runscOutputGivesCriItsCpuAndMemory() throws Exception {
        TypedData t = RunscStats.fromEvents(RUNSC_2024);
        assertEquals("io.containerd.cgroups.v1.Metrics", t.typeUrl());
        Map<Integer, List<Object>> m = decode(t.value());
        assertEquals(4L, one(decode(bytes(m, 2)), 1)); // pids.current
        Map<Integer, List<Object>> cpu = decode(bytes(m, 3));
        Map<Integer, List<Object>> usage = decode(bytes(cpu, 1));
        assertEquals(3858319862L, one(usage, 1)); // cpu.usage.total: CRI's usage_core_nano_seconds
        Map<Integer, List<Object>> mem = decode(bytes(m, 4));
        Map<Integer, List<Object>> mu = decode(bytes(mem, 33));
        assertEquals(22757376L, one(mu, 2)); // memory.usage.usage
        assertEquals(Long.MAX_VALUE, one(mu, 1)); // no limit from runsc: above CRI's "unlimited" threshold
        assertTrue(!mem.containsKey(30), "no inactive file: working set = usage");
        assertTrue(!mem.containsKey(34) && !mem.containsKey(35) && !mem.containsKey(36), "all-zero entries left out");
    }

    @Test
    void everyMappedFieldLandsOnItsNumber() throws Exception {
        Map<Integer, List<Object>> m = decode(RunscStats.fromEvents(FULL).value());
        Map<Integer, List<Object>> pids = decode(bytes(m, 2));
        assertEquals(3L, one(pids, 1));
        assertEquals(100L, one(pids, 2));
        Map<Integer, List<Object>> cpu = decode(bytes(m, 3));
        Map<Integer, List<Object>> usage = decode(bytes(cpu, 1));
        assertEquals(300L, one(usage, 1));
        assertEquals(100L, one(usage, 2));
        assertEquals(200L, one(usage, 3));
        CodedInputStream packed = CodedInputStream.newInstance(bytes(usage, 4));
        assertEquals(150L, packed.readUInt64());
        assertEquals(150L, packed.readUInt64());
        assertTrue(packed.isAtEnd());
        Map<Integer, List<Object>> th = decode(bytes(cpu, 2));
        assertEquals(List.of(7L, 2L, 9L), List.of(one(th, 1), one(th, 2), one(th, 3)));
        Map<Integer, List<Object>> mem = decode(bytes(m, 4));
        assertEquals(4096L, one(mem, 1)); // cache
        assertEquals(4000000L, one(mem, 19)); // total_rss
        assertEquals(77L, one(mem, 26)); // total_pg_fault
        assertEquals(3L, one(mem, 27)); // total_pg_maj_fault
        assertEquals(1000L, one(mem, 30)); // total_inactive_file
        Map<Integer, List<Object>> mu = decode(bytes(mem, 33));
        assertEquals(List.of(1073741824L, 5000000L, 6000000L, 1L), List.of(one(mu, 1), one(mu, 2), one(mu, 3), one(mu, 4)));
        Map<Integer, List<Object>> swap = decode(bytes(mem, 34));
        assertEquals(5L, one(swap, 1));
        assertEquals(6L, one(swap, 2));
    }

    @Test
    void largeUnsignedValuesSurvive() throws Exception {
        String json = "{\"data\":{\"memory\":{\"usage\":{\"limit\":18446744073709551615,\"usage\":1}}}}";
        Map<Integer, List<Object>> mu = decode(bytes(decode(bytes(decode(RunscStats.fromEvents(json).value()), 4)), 33));
        assertEquals(-1L, one(mu, 1)); // 2^64-1 as the long's bits
        // cpu.usage is present even when empty, so CRI sees the message set
        Map<Integer, List<Object>> cpu = decode(bytes(decode(RunscStats.fromEvents(json).value()), 3));
        assertEquals(0, bytes(cpu, 1).length);
    }

    @Test
    void garbageIsAnInternalError() {
        SandboxException e = assertThrows(SandboxException.class, () -> RunscStats.fromEvents("not json"));
        assertEquals(SandboxException.Code.INTERNAL, e.code());
        assertThrows(SandboxException.class, () -> RunscStats.fromEvents("{\"type\":\"stats\"}"));
    }

    /** Field number to its values: Long for varints, byte[] for length-delimited; fails on other wire types. */
    static Map<Integer, List<Object>> decode(byte[] b) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(b);
        Map<Integer, List<Object>> out = new HashMap<>();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int wire = tag & 7;
            Object v = switch (wire) {
                case 0 -> in.readUInt64();
                case 2 -> in.readByteArray();
                default -> throw new AssertionError("unexpected wire type " + wire + " for field " + (tag >>> 3));
            };
            out.computeIfAbsent(tag >>> 3, k -> new ArrayList<>()).add(v);
        }
        return out;
    }

    private static Object one(Map<Integer, List<Object>> m, int field) {
        List<Object> v = m.get(field);
        assertTrue(v != null && v.size() == 1, "field " + field + " once, got " + v);
        return v.get(0);
    }

    private static byte[] bytes(Map<Integer, List<Object>> m, int field) {
        return (byte[]) one(m, field);
    }
}
