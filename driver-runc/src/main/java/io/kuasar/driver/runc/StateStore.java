package io.kuasar.driver.runc;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One JSON file per sandbox under the driver's state dir, replaced atomically on every change, so a driver
 * restarted at any moment finds either the previous or the new state of each sandbox, never a torn one.
 */
final class StateStore {
    private static final Logger LOG = System.getLogger(StateStore.class.getName());
    private static final String SUFFIX = ".json";

    private final Path dir;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    StateStore(Path dir) throws IOException {
        this.dir = FileOps.privateDir(dir);
    }

    Path file(String sandboxId) throws SandboxException {
        return dir.resolve(Identifiers.validate("sandbox", sandboxId) + SUFFIX);
    }

    boolean exists(String sandboxId) throws SandboxException {
        return Files.exists(file(sandboxId));
    }

    void save(PersistedState.Sandbox s) throws SandboxException {
        try {
            AtomicFiles.writeAtomically(file(s.id()), json.writerWithDefaultPrettyPrinter().writeValueAsBytes(s));
        } catch (IOException e) {
            throw SandboxException.internal("cannot persist sandbox " + s.id(), e);
        }
    }

    PersistedState.Sandbox load(Path file) throws IOException {
        return json.readValue(file.toFile(), PersistedState.Sandbox.class);
    }

    /** Every readable state file; unreadable ones are logged and skipped (and left for an operator). */
    List<PersistedState.Sandbox> loadAll() {
        List<PersistedState.Sandbox> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                try {
                    PersistedState.Sandbox s = load(f);
                    Identifiers.validate("sandbox", s.id());
                    if (!f.getFileName().toString().equals(s.id() + SUFFIX)) {
                        throw new IOException("file name does not match sandbox id " + s.id());
                    }
                    out.add(s);
                } catch (IOException | SandboxException e) {
                    LOG.log(Level.WARNING, "skipping unreadable sandbox state " + f, e);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list " + dir, e);
        }
        return out;
    }

    void remove(String sandboxId) throws SandboxException {
        try {
            Files.deleteIfExists(file(sandboxId));
        } catch (IOException e) {
            throw SandboxException.internal("cannot remove state of sandbox " + sandboxId, e);
        }
    }
}
