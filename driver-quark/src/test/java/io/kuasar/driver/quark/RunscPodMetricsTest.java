package io.kuasar.driver.quark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

/** A pod's figures are its containers' summed; limits are the largest, not a sum. */
class RunscPodMetricsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void numbersAddUpAndLimitsDoNot() throws Exception {
        ObjectNode sum = JSON.createObjectNode();
        RunscPodMetrics.add(sum, JSON.readTree("{\"memory\":{\"usage\":{\"usage\":100,\"limit\":500}},"
                + "\"cpu\":{\"usage\":{\"total\":7,\"percpu\":[1,2]}},\"pids\":{\"current\":1,\"limit\":0}}"));
        RunscPodMetrics.add(sum, JSON.readTree("{\"memory\":{\"usage\":{\"usage\":33554432,\"limit\":400}},"
                + "\"cpu\":{\"usage\":{\"total\":5}},\"pids\":{\"current\":2,\"limit\":9}}"));
        assertEquals(33554532, sum.at("/memory/usage/usage").asLong());
        assertEquals(500, sum.at("/memory/usage/limit").asLong());
        assertEquals(12, sum.at("/cpu/usage/total").asLong());
        assertEquals(3, sum.at("/pids/current").asLong());
        assertEquals(9, sum.at("/pids/limit").asLong());
        assertEquals(2, sum.at("/cpu/usage/percpu").size(), "arrays are kept from the first container");
    }
}
