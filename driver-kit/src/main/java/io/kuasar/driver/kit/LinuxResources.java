package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TypedData;
import java.io.IOException;

/**
 * What containerd sends to a Task Update (CRI's UpdateContainerResources): the OCI runtime spec's LinuxResources,
 * JSON-encoded, under its type URL. Checked before anything changes: a wrong type, or a value that is not a JSON
 * object, is INVALID_ARGUMENT naming the container.
 *
 * @since 1.9
 */
public final class LinuxResources {
    /** containerd's type URL of the OCI LinuxResources, without its prefix. */
    public static final String TYPE = "opencontainers/runtime-spec/1/LinuxResources";

    private static final ObjectMapper JSON = new ObjectMapper();

    private LinuxResources() {
    }

    /** The JSON object of {@code resources}, sent to update container {@code id}. */
    public static JsonNode parse(String id, TypedData resources) throws SandboxException {
        if (resources == null || resources.isEmpty()) {
            throw SandboxException.invalid("update of " + id + " carries no resources");
        }
        if (!resources.typeUrl().endsWith(TYPE)) {
            throw SandboxException.invalid("update of " + id + ": resources of type " + resources.typeUrl()
                    + " are not " + TYPE);
        }
        JsonNode doc;
        try {
            doc = JSON.readTree(resources.value());
        } catch (IOException e) {
            throw SandboxException.invalid("update of " + id + ": resources are not JSON: " + e.getMessage());
        }
        if (doc == null || !doc.isObject()) {
            throw SandboxException.invalid("update of " + id + ": resources are not a JSON object");
        }
        return doc;
    }
}
