package io.kuasar.driver.kit;

import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * A driver's pods on disk: one JSON file per sandbox id ({@link JsonRecords}), each the snapshot {@code persisted}
 * takes of a pod, and {@code restored}, where given, the pod a snapshot stands for. The snapshot is taken and written
 * under the pod's monitor, so concurrent changes reach the disk in the order they were made.
 *
 * @param <P> the driver's pod
 * @param <R> its persisted form, a Jackson-mappable record
 * @since 1.8
 */
public final class PodStore<P extends PodRecord<?>, R> extends JsonRecords<R> implements PodTable.Records<P> {
    private final Function<P, R> persisted;
    private final Function<R, P> restored;

    public PodStore(Path dir, Class<R> type, Function<R, String> idOf, Function<P, R> persisted) throws IOException {
        this(dir, type, idOf, persisted, null);
    }

    /** @since 1.13 */
    public PodStore(Path dir, Class<R> type, Function<R, String> idOf, Function<P, R> persisted,
                    Function<R, P> restored) throws IOException {
        super(dir, "sandbox", type, idOf);
        this.persisted = persisted;
        this.restored = restored;
    }

    /**
     * The pod {@code record} stands for, made from the record alone ({@link PodDriver#restore}).
     *
     * @throws UnsupportedOperationException for a store made without {@code restored}
     * @since 1.13
     */
    public P restore(R record) {
        if (restored == null) {
            throw new UnsupportedOperationException("this store of " + idOf(record) + " restores no pods");
        }
        return restored.apply(record);
    }

    @Override
    public void save(P pod) throws SandboxException {
        synchronized (pod) {
            save(pod.id, persisted.apply(pod));
        }
    }
}
