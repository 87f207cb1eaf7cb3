package io.kuasar.driver.runc.pod;

import io.kuasar.spi.Mount;
import io.kuasar.spi.Stdio;
import java.util.List;
import java.util.Map;

/**
 * The JSON shape of one sandbox's state file. Plain records so Jackson (core, annotations, databind only: no
 * java.time module in the runtime) maps them; instants are ISO-8601 strings. Bump {@link #VERSION} on
 * incompatible changes.
 */
public final class PersistedState {
    public static final int VERSION = 1;

    private PersistedState() {
    }

    /**
     * @param pidMode     PodConfig's PID namespace mode name (POD means a pid holder exists)
     * @param state       SandboxStatus.State name
     * @param nsDir       directory holding the pinned ipc/uts namespace files, empty before start
     * @param holderPid   pid of the PID-namespace holder (unshare), 0 if none
     * @param holderInit  pid (host view) of the holder's child, whose ns/pid the containers join
     */
    public record Sandbox(int version, String id, String namespace, String netnsPath, String hostname, String pidMode,
                   String state, long pid, String createdAt, String exitedAt, String nsDir, long holderPid,
                   long holderStartTime, long holderInit, long holderInitStartTime, Map<String, String> labels,
                   List<Container> containers) {
        public Sandbox {
            labels = labels == null ? Map.of() : labels;
            containers = containers == null ? List.of() : containers;
        }
    }

    public record Container(String id, String bundle, List<Mount> rootfs, boolean rootfsMounted, boolean paused,
                     Process init, List<Process> execs) {
        public Container {
            rootfs = rootfs == null ? List.of() : rootfs;
            execs = execs == null ? List.of() : execs;
        }
    }

    /**
     * @param status    TaskState.Status name
     * @param exitCode  recorded exit code, meaningful when exitedAt is set
     * @param startTime /proc start time of pid, to recognise it after a restart
     */
    public record Process(String execId, Stdio stdio, long pid, long startTime, String status, int exitCode,
                   String exitedAt) {
    }
}
