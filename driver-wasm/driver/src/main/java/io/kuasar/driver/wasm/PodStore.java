package io.kuasar.driver.wasm;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/** One JSON file per pod, replaced atomically on every change, so a restarted driver never reads a torn state. */
final class PodStore {
    private static final Logger LOG = Logger.getLogger(PodStore.class.getName());
    private static final String SUFFIX = ".json";

    private final Path dir;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    PodStore(Path dir) throws IOException {
        this.dir = HostFs.privateDir(dir);
    }

    private Path file(String podId) throws SandboxException {
        return dir.resolve(Identifiers.validate("sandbox", podId) + SUFFIX);
    }

    boolean exists(String podId) throws SandboxException {
        return Files.exists(file(podId));
    }

    /** Writes a snapshot taken under the pod's monitor, so concurrent changes reach the disk in order. */
    void save(WasmPod pod) throws SandboxException {
        synchronized (pod) {
            try {
                AtomicFiles.writeAtomically(file(pod.id),
                        json.writerWithDefaultPrettyPrinter().writeValueAsBytes(pod.persisted()));
            } catch (IOException e) {
                throw SandboxException.internal("cannot persist sandbox " + pod.id, e);
            }
        }
    }

    void remove(String podId) throws SandboxException {
        try {
            Files.deleteIfExists(file(podId));
        } catch (IOException e) {
            throw SandboxException.internal("cannot remove the state of sandbox " + podId, e);
        }
    }

    /** Every readable pod file; an unreadable one is logged and left for an operator. */
    List<PersistedPod> loadAll() {
        List<PersistedPod> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                try {
                    PersistedPod p = json.readValue(f.toFile(), PersistedPod.class);
                    if (!f.getFileName().toString().equals(Identifiers.validate("sandbox", p.id()) + SUFFIX)) {
                        throw new IOException("file name does not match sandbox id " + p.id());
                    }
                    out.add(p);
                } catch (IOException | SandboxException e) {
                    LOG.log(Level.WARNING, "skipping unreadable sandbox state " + f, e);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list " + dir, e);
        }
        return out;
    }
}
