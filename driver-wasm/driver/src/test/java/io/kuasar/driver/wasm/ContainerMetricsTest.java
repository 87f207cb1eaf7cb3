package io.kuasar.driver.wasm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.UnknownFieldSet;
import io.kuasar.spi.TypedData;
import org.junit.jupiter.api.Test;

class ContainerMetricsTest {
    @Test
    void cpuAndMemoryAreWhereCriReadsThem() throws Exception {
        TypedData d = ContainerMetrics.of(1234567, 4L << 20, 5L << 20, 16L << 20);
        assertEquals("io.containerd.cgroups.v1.Metrics", d.typeUrl());
        UnknownFieldSet m = UnknownFieldSet.parseFrom(d.value());
        UnknownFieldSet cpu = UnknownFieldSet.parseFrom(m.getField(3).getLengthDelimitedList().get(0));
        UnknownFieldSet usage = UnknownFieldSet.parseFrom(cpu.getField(1).getLengthDelimitedList().get(0));
        assertEquals(1234567L, usage.getField(1).getVarintList().get(0));
        UnknownFieldSet mem = UnknownFieldSet.parseFrom(m.getField(4).getLengthDelimitedList().get(0));
        UnknownFieldSet entry = UnknownFieldSet.parseFrom(mem.getField(33).getLengthDelimitedList().get(0));
        assertEquals(16L << 20, entry.getField(1).getVarintList().get(0), "limit");
        assertEquals(4L << 20, entry.getField(2).getVarintList().get(0), "usage");
        assertEquals(5L << 20, entry.getField(3).getVarintList().get(0), "max");
        UnknownFieldSet none = UnknownFieldSet.parseFrom(UnknownFieldSet.parseFrom(
                UnknownFieldSet.parseFrom(ContainerMetrics.of(0, 1, 1, 0).value()).getField(4)
                        .getLengthDelimitedList().get(0)).getField(33).getLengthDelimitedList().get(0));
        assertEquals(Long.MAX_VALUE, none.getField(1).getVarintList().get(0), "no limit: above CRI's threshold");
    }
}
