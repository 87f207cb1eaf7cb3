package io.kuasar.driver.kit;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskSpec;
import java.nio.file.Files;
import java.nio.file.Path;

/** The checks of a Task Create that every driver makes before it changes anything. */
public final class TaskSpecs {
    private TaskSpecs() {
    }

    /** UNIMPLEMENTED, naming {@code what} cannot be restored, when the spec asks for a restore from a checkpoint. */
    public static void refuseCheckpoint(TaskSpec spec, String what) throws SandboxException {
        if (!spec.checkpoint().isEmpty()) {
            throw SandboxException.unimplemented("restoring " + what + " from a checkpoint");
        }
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
