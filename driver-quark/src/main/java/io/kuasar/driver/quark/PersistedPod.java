package io.kuasar.driver.quark;

import io.kuasar.spi.Mount;
import io.kuasar.spi.Stdio;
import java.util.List;
import java.util.Map;

/**
 * The JSON shape of one pod's state file (plain records for Jackson; instants as ISO-8601 strings, null when
 * unset). Bump {@link #VERSION} on incompatible changes.
 *
 * @param sessions   session ids of the host processes runsc left for the pod (sandbox, gofers; see Reaper), so
 *                   a restarted driver can still reap them
 * @param containers containers of a pod whose Task API the host serves (runsc); empty for Quark
 * @param cgroup     the sandbox's host cgroup (runsc), absent in the records of pods started before it had one
 */
record PersistedPod(int version, String id, String sandboxer, String namespace, String netnsPath, String hostname,
                    String state, long pid, String createdAt, String exitedAt, String taskAddress, String platform,
                    Map<String, String> labels, List<Long> sessions, List<Container> containers, String cgroup) {
    static final int VERSION = 1;

    PersistedPod {
        labels = labels == null ? Map.of() : labels;
        sessions = sessions == null ? List.of() : sessions;
        containers = containers == null ? List.of() : containers;
        cgroup = cgroup == null ? "" : cgroup;
    }

    /**
     * @param status   TaskState.Status name of the init process
     * @param exitCode meaningful once exitedAt is set
     * @param deleted  true once runsc no longer knows the container (deleted when the pod stopped)
     * @param execs    its exec processes, from Exec until Delete
     */
    record Container(String id, String bundle, List<Mount> rootfs, boolean rootfsMounted, Stdio stdio,
                     String status, long pid, int exitCode, String exitedAt, boolean deleted, List<Exec> execs) {
        Container {
            rootfs = rootfs == null ? List.of() : rootfs;
            execs = execs == null ? List.of() : execs;
        }
    }

    /**
     * An exec process: its spec is {@code work/<container>/exec-ID.json} from Exec on.
     *
     * @param pid         the pid of its runsc exec helper once started (the host process whose exit is the exec's)
     * @param helperStart that helper's start time (/proc stat field 22), so a recycled pid is not taken for it
     */
    record Exec(String execId, Stdio stdio, String status, long pid, long helperStart, int exitCode, String exitedAt) {
    }
}
