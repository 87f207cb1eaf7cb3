package io.kuasar.driver.kit;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
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
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A driver's persisted records, one JSON file per id in a private (0700) directory, each replaced atomically on
 * every change so a restarted or upgraded driver never reads a torn state. Unknown properties are ignored on
 * reading, so a newer driver's records load in an older one after a rollback.
 *
 * @param <R> the record type, a Jackson-mappable value class (a Java record)
 */
public class JsonRecords<R> {
    private static final Logger LOG = System.getLogger(JsonRecords.class.getName());
    private static final String SUFFIX = ".json";

    private final Path dir;
    private final String kind;
    private final Class<R> type;
    private final Function<R, String> idOf;
    private final ObjectMapper json = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    /**
     * Made with the store (its deserializer is fetched eagerly): a driver instance is built while the one it
     * replaces still serves, and its recovery, which reads every record, runs in the gap calls wait through, where
     * making it took tens of milliseconds on the node's C1-only JIT.
     */
    private final ObjectReader reader;

    /** {@code kind} names the ids in messages and in {@link Identifiers#validate} (e.g. "sandbox"). */
    public JsonRecords(Path dir, String kind, Class<R> type, Function<R, String> idOf) throws IOException {
        this.dir = HostFiles.privateDir(dir);
        this.kind = kind;
        this.type = type;
        this.idOf = idOf;
        this.reader = json.readerFor(type);
    }

    /** The id of {@code record}. @since 1.8 */
    public String idOf(R record) {
        return idOf.apply(record);
    }

    private Path file(String id) throws SandboxException {
        return dir.resolve(Identifiers.validate(kind, id) + SUFFIX);
    }

    public boolean exists(String id) throws SandboxException {
        return Files.exists(file(id));
    }

    public void save(String id, R record) throws SandboxException {
        try {
            AtomicFiles.writeAtomically(file(id), json.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
        } catch (IOException e) {
            throw SandboxException.internal("cannot persist " + kind + " " + id, e);
        }
    }

    public void remove(String id) throws SandboxException {
        try {
            Files.deleteIfExists(file(id));
        } catch (IOException e) {
            throw SandboxException.internal("cannot remove the state of " + kind + " " + id, e);
        }
    }

    /**
     * The record of {@code id}, empty when none is persisted; an unreadable one, or one that names another id, is an
     * INTERNAL error.
     *
     * @since 1.11
     */
    public Optional<R> load(String id) throws SandboxException {
        Path f = file(id);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        try {
            R r = reader.readValue(f.toFile());
            if (!id.equals(idOf.apply(r))) {
                throw new IOException("file name does not match " + kind + " id " + idOf.apply(r));
            }
            return Optional.of(r);
        } catch (IOException e) {
            throw SandboxException.internal("cannot read the state of " + kind + " " + id, e);
        }
    }

    /** Every readable record; an unreadable one, or one whose file name is not its id, is logged and left. */
    public List<R> loadAll() {
        return scan(r -> true, Integer.MAX_VALUE);
    }

    /**
     * One readable record that {@code accepted} takes, whichever the directory lists first; empty when there is none.
     *
     * @since 1.13
     */
    public Optional<R> loadAny(Predicate<R> accepted) {
        return scan(accepted, 1).stream().findFirst();
    }

    /** Up to {@code most} readable records {@code accepted} takes, unreadable ones logged and left. */
    private List<R> scan(Predicate<R> accepted, int most) {
        List<R> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            for (Path f : files) {
                if (out.size() >= most) {
                    break;
                }
                try {
                    R r = reader.readValue(f.toFile());
                    if (!f.getFileName().toString().equals(Identifiers.validate(kind, idOf.apply(r)) + SUFFIX)) {
                        throw new IOException("file name does not match " + kind + " id " + idOf.apply(r));
                    }
                    if (accepted.test(r)) {
                        out.add(r);
                    }
                } catch (IOException | SandboxException e) {
                    LOG.log(Level.WARNING, "skipping unreadable " + kind + " state " + f, e);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot list " + dir, e);
        }
        return out;
    }
}
