package io.kuasar.spi;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * containerd's Task API for the containers of one sandbox ({@code containerd.task.v3.Task}). {@code id} is a
 * container id; {@code execId} is empty for the container's init process. Unknown ids are NOT_FOUND.
 * Optional operations default to UNIMPLEMENTED.
 */
@ConsumerType
public interface TaskService {
    /** Creates the container's init process, not yet started; returns its pid. */
    long create(TaskSpec spec) throws SandboxException;

    /** Starts the init process ({@code execId} empty) or an exec process; returns its pid. */
    long start(String id, String execId) throws SandboxException;

    /** Deletes a stopped process and what was made for it; returns how it exited. */
    ExitStatus delete(String id, String execId) throws SandboxException;

    List<ProcessInfo> pids(String id) throws SandboxException;

    default void pause(String id) throws SandboxException {
        throw SandboxException.unimplemented("pause");
    }

    default void resume(String id) throws SandboxException {
        throw SandboxException.unimplemented("resume");
    }

    default void checkpoint(String id, String path, TypedData options) throws SandboxException {
        throw SandboxException.unimplemented("checkpoint");
    }

    /** Sends {@code signal} to the process, or to every process of the container when {@code all}. */
    void kill(String id, String execId, int signal, boolean all) throws SandboxException;

    /** Adds an exec process to a running container (not yet started). */
    void exec(ExecSpec spec) throws SandboxException;

    default void resizePty(String id, String execId, int width, int height) throws SandboxException {
        throw SandboxException.unimplemented("resize-pty");
    }

    /** Closes the process's stdin. */
    default void closeIO(String id, String execId, boolean stdin) throws SandboxException {
        throw SandboxException.unimplemented("close-io");
    }

    default void update(String id, TypedData resources, Map<String, String> annotations) throws SandboxException {
        throw SandboxException.unimplemented("update");
    }

    /** Completes when the process has exited. */
    CompletionStage<ExitStatus> waitFor(String id, String execId) throws SandboxException;

    default TypedData stats(String id) throws SandboxException {
        throw SandboxException.unimplemented("stats");
    }

    TaskState state(String id, String execId) throws SandboxException;

    /** Who serves the task: the serving process's pid, the task's pid, and the API version. */
    default ConnectInfo connect(String id) throws SandboxException {
        return new ConnectInfo(ProcessHandle.current().pid(), state(id, "").pid(), "3");
    }

    /** containerd's request to end the serving process; a shared host ignores it unless told {@code now}. */
    default void shutdown(String id, boolean now) throws SandboxException {
    }

    /** A process and its driver-specific details. */
    record ProcessInfo(long pid, TypedData info) {
    }

    /** The answer to Connect. */
    record ConnectInfo(long shimPid, long taskPid, String version) {
    }
}
