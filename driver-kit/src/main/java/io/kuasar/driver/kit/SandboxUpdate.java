package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import java.io.IOException;
import java.util.Collection;

/**
 * What a Controller Update asks of a running sandbox, checked before anything changes. containerd sends its whole
 * sandbox record and the field paths that changed (its sandbox store's: {@code labels}, {@code labels.KEY},
 * {@code extensions}, {@code extensions.KEY}, {@code spec}, {@code runtime}); an empty list means every field.
 * Labels and extensions are containerd's own bookkeeping, held in its sandbox store, which nothing in the node reads
 * after Create: accepted with nothing to apply. A changed {@code spec} (an OCI runtime spec, JSON) carries the pod's
 * {@code linux.resources}, which the driver applies to the pod ({@link PodDriver#updateResources}). A sandbox cannot
 * change its runtime, and any other field is unknown: INVALID_ARGUMENT naming it.
 *
 * @param resources the spec's {@code linux.resources} object when the spec changed and has one, else null
 * @since 1.10
 */
public record SandboxUpdate(JsonNode resources) {
    /** containerd's type URL of an OCI runtime spec, without its prefix. */
    public static final String SPEC_TYPE = "opencontainers/runtime-spec/1/Spec";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The update of {@code spec}'s sandbox that {@code fields} name; INVALID_ARGUMENT naming what is wrong. */
    public static SandboxUpdate of(SandboxSpec spec, Collection<String> fields) throws SandboxException {
        boolean specChanged = fields.isEmpty();
        for (String field : fields) {
            String root = field.contains(".") ? field.substring(0, field.indexOf('.')) : field;
            switch (root) {
                case "labels", "extensions" -> {
                    // containerd's store holds them; nothing to apply
                }
                case "spec" -> specChanged = true;
                case "runtime" -> throw SandboxException.invalid("update of sandbox " + spec.id()
                        + ": field runtime cannot change on a running sandbox");
                default -> throw SandboxException.invalid("update of sandbox " + spec.id() + ": unknown field "
                        + field + " (known: labels, extensions, spec)");
            }
        }
        if (!specChanged || spec.options() == null || spec.options().isEmpty()) {
            return new SandboxUpdate(null);
        }
        if (!spec.options().typeUrl().endsWith(SPEC_TYPE)) {
            throw SandboxException.invalid("update of sandbox " + spec.id() + ": field spec of type "
                    + spec.options().typeUrl() + " is not " + SPEC_TYPE);
        }
        JsonNode doc;
        try {
            doc = JSON.readTree(spec.options().value());
        } catch (IOException e) {
            throw SandboxException.invalid("update of sandbox " + spec.id() + ": field spec is not JSON: "
                    + e.getMessage());
        }
        if (doc == null || !doc.isObject()) {
            throw SandboxException.invalid("update of sandbox " + spec.id() + ": field spec is not a JSON object");
        }
        JsonNode resources = doc.path("linux").path("resources");
        if (resources.isMissingNode() || resources.isNull()) {
            return new SandboxUpdate(null);
        }
        if (!resources.isObject()) {
            throw SandboxException.invalid("update of sandbox " + spec.id()
                    + ": field spec's linux.resources is not a JSON object");
        }
        return new SandboxUpdate(resources);
    }
}
