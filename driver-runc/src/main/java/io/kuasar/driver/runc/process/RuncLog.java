package io.kuasar.driver.runc.process;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;

/**
 * Extracts the message worth showing from runc's {@code --log-format json} log: the last error or fatal entry.
 * Plain lines (runc's stderr, appended to the same file for commands without container stdio) count as errors.
 */
final class RuncLog {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RuncLog() {
    }

    static String lastError(List<String> lines) {
        String last = "";
        String lastAny = "";
        for (String line : lines) {
            String l = line.trim();
            if (l.isEmpty()) {
                continue;
            }
            if (l.startsWith("{")) {
                try {
                    JsonNode n = JSON.readTree(l);
                    String level = n.path("level").asText("");
                    String msg = n.path("msg").asText("");
                    if (!msg.isEmpty()) {
                        lastAny = msg;
                        if (level.equals("error") || level.equals("fatal") || level.equals("panic")) {
                            last = msg;
                        }
                    }
                    continue;
                } catch (IOException e) {
                    // not JSON after all: treat as text
                }
            }
            last = l;
        }
        return last.isEmpty() ? lastAny : last;
    }
}
