package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A runsc pod's Controller Metrics: gVisor accounts memory and CPU per container inside its sentry (the sandbox's
 * own pause container shows almost nothing), so the pod's figures are the sum of {@code runsc events --stats} over
 * the sandbox container and every container still running, encoded as {@link RunscStats} encodes one container's.
 * Limits are not summed: the largest is kept.
 */
final class RunscPodMetrics {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RunscPodMetrics() {
    }

    static TypedData of(Pod pod, Runsc runsc) throws SandboxException {
        List<String> ids = new ArrayList<>();
        ids.add(pod.id);
        pod.containerList().forEach(c -> ids.add(c.id));
        ObjectNode sum = JSON.createObjectNode();
        int read = 0;
        for (String id : ids) {
            JsonNode data;
            try {
                data = JSON.readTree(firstLine(runsc.stats(id))).path("data");
            } catch (SandboxException | IOException e) {
                continue; // a container that has exited has no figures; the others still count
            }
            if (data.isObject()) {
                add(sum, data);
                read++;
            }
        }
        if (read == 0) {
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "runsc reports no figures for sandbox " + pod.id + " (not running)");
        }
        return new TypedData(RunscStats.TYPE_URL, RunscStats.metrics(sum));
    }

    private static String firstLine(String out) {
        return out == null || out.isBlank() ? "{}" : out.trim().lines().findFirst().orElse("{}");
    }

    /** Adds {@code from}'s numbers into {@code into}, field by field; "limit" fields keep the largest. */
    static void add(ObjectNode into, JsonNode from) {
        for (Iterator<Map.Entry<String, JsonNode>> it = from.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            JsonNode have = into.get(f.getKey());
            JsonNode v = f.getValue();
            if (v.isObject()) {
                ObjectNode child = have instanceof ObjectNode o ? o : into.putObject(f.getKey());
                add(child, v);
            } else if (v.isIntegralNumber()) {
                long old = have != null && have.isIntegralNumber() ? have.asLong() : 0;
                into.put(f.getKey(), f.getKey().toLowerCase().contains("limit") ? Math.max(old, v.asLong())
                        : old + v.asLong());
            } else if (have == null) {
                into.set(f.getKey(), v);
            }
        }
    }
}
