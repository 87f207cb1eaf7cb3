package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskSpec;
import java.nio.file.Files;
import java.nio.file.Path;

/** The checks of a Task Create that every driver makes before it changes anything. */
public final class TaskSpecs {
    private TaskSpecs() {
    }

    /** A Task Create that passed {@link #check}: the container's id and bundle. @since 1.8 */
    public record Checked(String id, Path bundle) {
    }

    /**
     * The checks of a Task Create, in the order every driver makes them: a valid container id, no restore from a
     * checkpoint ({@code what} names the container kind), stdio this driver can serve ({@code driver} names it in the
     * refusal), an absolute bundle with a config.json. A terminal passes when its FIFO paths do: whether the driver
     * can give the container one is the driver's to say (since 1.10).
     *
     * @since 1.8
     */
    public static Checked check(TaskSpec spec, String what, String driver) throws SandboxException {
        String id = Identifiers.validate("container", spec.id());
        refuseCheckpoint(spec, what);
        Terminals.redirects(spec.stdio(), driver);
        return new Checked(id, bundle(spec));
    }

    /** UNIMPLEMENTED, naming {@code what} cannot be restored, when the spec asks for a restore from a checkpoint. */
    public static void refuseCheckpoint(TaskSpec spec, String what) throws SandboxException {
        if (!spec.checkpoint().isEmpty()) {
            throw SandboxException.unimplemented("restoring " + what + " from a checkpoint");
        }
    }

    /**
     * A bundle's {@code config.json} as a JSON object, read with {@code json}: INVALID_ARGUMENT naming the problem
     * when it is not UTF-8 (RFC 8259; Jackson would decode some invalid sequences into broken surrogates and write
     * out a file nothing can read back), not JSON, or not an object. Only a file that cannot be read is INTERNAL.
     *
     * @since 1.6
     */
    public static ObjectNode readConfig(Path configJson, ObjectMapper json) throws SandboxException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(configJson);
        } catch (IOException e) {
            throw SandboxException.internal("cannot read " + configJson, e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw SandboxException.invalid(configJson + " is not UTF-8: " + e);
        }
        JsonNode n;
        try {
            n = json.readTree(text);
        } catch (IOException | NumberFormatException e) {
            // NumberFormatException: Jackson's unchecked refusal of a number BigDecimal cannot hold (7e7777777777)
            throw SandboxException.invalid("cannot read " + configJson + ": " + e.getMessage());
        }
        if (!(n instanceof ObjectNode o)) {
            throw SandboxException.invalid(configJson + " is not a JSON object");
        }
        return o;
    }

    /** The spec's bundle directory: absolute and holding a config.json, else INVALID_ARGUMENT. */
    public static Path bundle(TaskSpec spec) throws SandboxException {
        Path bundle = Path.of(spec.bundle());
        if (!bundle.isAbsolute() || !Files.isRegularFile(bundle.resolve("config.json"))) {
            throw SandboxException.invalid("bundle " + spec.bundle() + " has no config.json");
        }
        return bundle;
    }
}
