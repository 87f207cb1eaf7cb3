package io.kuasar.driver.kit;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskService;
import io.kuasar.spi.TaskState;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.CompletionStage;

/**
 * The part of a pod's Task API that is the same whatever runs the containers: finding a container of the pod,
 * Wait and State from its records, and forgetting a container whose Create failed. The driver's task service
 * extends it with what its technology does.
 *
 * @param <P> the driver's pod
 * @param <C> the driver's container
 * @since 1.8
 */
public abstract class PodTasks<P extends PodRecord<C>, C extends ContainerRecord<?>> implements TaskService {
    private static final Logger LOG = System.getLogger(PodTasks.class.getName());

    /** Removes what a container's Create made on the host (mounts, work files, the runtime's own state). */
    @FunctionalInterface
    public interface Leftovers {
        void remove() throws IOException, SandboxException;
    }

    /** A call on one container, made holding its {@link ContainerRecord#ops} lock. */
    @FunctionalInterface
    public interface OpsCall<C, T> {
        T run(C c) throws SandboxException;
    }

    protected final P pod;
    protected final PodTable.Records<P> store;

    protected PodTasks(P pod, PodTable.Records<P> store) {
        this.pod = pod;
        this.store = store;
    }

    /** The container {@code id} of this pod; NOT_FOUND, naming the pod, when it has none. */
    protected C container(String id) throws SandboxException {
        return pod.requireContainer(id);
    }

    /** Runs {@code call} on the container {@code id} holding its ops lock, which serialises its Create, Start, Delete. */
    protected <T> T withOps(String id, OpsCall<C, T> call) throws SandboxException {
        C c = container(id);
        c.ops.lock();
        try {
            return call.run(c);
        } finally {
            c.ops.unlock();
        }
    }

    /** The container {@code id} while its init has not exited; NOT_FOUND after, which containerd's metrics skip. */
    protected C runningContainer(String id) throws SandboxException {
        C c = container(id);
        if (c.init.exit() != null) {
            throw SandboxException.notFound("running container", id + " in sandbox " + pod.id);
        }
        return c;
    }

    /**
     * Undoes a Create that failed with {@code failure}: see {@link #discard}.
     *
     * @return the failure to throw, as a SandboxException
     */
    protected SandboxException createFailed(C c, Exception failure, Leftovers leftovers) {
        discard(c, leftovers);
        return failure instanceof SandboxException se ? se
                : SandboxException.internal("cannot create container " + c.id, failure);
    }

    /**
     * Removes a container whose Create failed or was cut short: {@code leftovers} removes what it made (its own
     * failure is logged: the Create's is what the caller reports), and the container is forgotten.
     */
    protected void discard(C c, Leftovers leftovers) {
        try {
            leftovers.remove();
        } catch (IOException | SandboxException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot clean up the failed container " + c.id, e);
        }
        forget(c);
    }

    /**
     * The end of a container's Delete: {@code leftovers} removes what it has on the host (INTERNAL when it cannot),
     * then it leaves the pod, which is saved.
     */
    protected void removeDeleted(C c, Leftovers leftovers) throws SandboxException {
        try {
            leftovers.remove();
        } catch (IOException e) {
            throw SandboxException.internal("cannot clean up container " + c.id, e);
        }
        pod.removeContainer(c.id);
        store.save(pod);
    }

    /** Removes {@code c} from the pod and saves it; a failed save is left to the next one. */
    protected void forget(C c) {
        pod.removeContainer(c.id);
        try {
            store.save(pod);
        } catch (SandboxException e) {
            LOG.log(Level.DEBUG, "the next save records the absence of container " + c.id, e);
        }
    }

    @Override
    public CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException {
        return container(id).proc(execId).waitFor();
    }

    @Override
    public TaskState state(String id, String execId) throws SandboxException {
        return container(id).state(execId);
    }

    /**
     * CloseIO of a process whose stdin is containerd's FIFO itself, read by the process or by a copier of this JVM
     * (a terminal's, which passes end-of-file on): containerd closes its write end before it asks, so the reader
     * sees end-of-file once no writer is left, and nothing remains to do but check the process exists. The kit
     * never holds a stdin FIFO open ({@link FifoHold} holds output only). A driver whose processes get their stdin
     * another way (a guest agent's pipe) overrides this.
     *
     * @since 1.9
     */
    @Override
    public void closeIO(String id, String execId, boolean stdin) throws SandboxException {
        container(id).proc(execId);
    }
}
