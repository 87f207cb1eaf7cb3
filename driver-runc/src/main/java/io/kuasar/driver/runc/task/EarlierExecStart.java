package io.kuasar.driver.runc.task;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a previous JVM left of an exec's Start. {@code runc exec --detach --pid-file F} writes F once the process
 * runs; a JVM killed after that but before it recorded the pid leaves F behind, and the keeper then replays
 * containerd's Start to the next JVM. Starting again would run the command twice, so the process named in F is
 * taken over instead: {@link #RUNNING} when it still runs in the container (same mount namespace as the
 * container's init), {@link #GONE} when it has ended (or its pid now names an unrelated process), whose exit the
 * keeper may have recorded.
 */
enum EarlierExecStart {
    /** No pid file: this is the first Start. */
    NONE,
    /** The earlier process still runs in the container: watch it. */
    RUNNING,
    /** The earlier process has ended: its exit comes from the keeper's record, or is unknown (255). */
    GONE;

    static EarlierExecStart of(Path pidFile, long pid, long initPid) {
        if (!Files.exists(pidFile)) {
            return NONE;
        }
        return pid > 0 && sameMountNamespace(pid, initPid) ? RUNNING : GONE;
    }

    /** The pid in {@code pidFile}, 0 when there is none or it is unreadable. */
    static long pidIn(Path pidFile) {
        try {
            return Long.parseLong(Files.readString(pidFile).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    private static boolean sameMountNamespace(long pid, long other) {
        try {
            Path a = Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "mnt"));
            Path b = Files.readSymbolicLink(Path.of("/proc", Long.toString(other), "ns", "mnt"));
            return a.equals(b);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
