package io.kuasar.driver.vmm;

import java.util.List;
import java.util.Map;

/** The JSON a VM pod is persisted as (one file per pod, replaced atomically). */
record PersistedVmPod(int version, String id, String namespace, String netnsPath, String hostname, String state,
                      long pid, String createdAt, String exitedAt, String dir, String accel, int vcpus, int memoryMb,
                      String tap, String address, String gateway, String cgroup, Map<String, String> labels,
                      List<Container> containers) {
    static final int VERSION = 1;

    /**
     * A container, its init and its execs (null in files written before execs were kept: none), so a driver
     * restarted by an upgrade or a crash still knows an exec containerd has made and answers a replayed Start or
     * a Delete for it. {@code terminal}: on a pty in the guest (null in files written before terminals: false).
     */
    record Container(String id, String bundle, String stdin, String stdout, String stderr, long pid, String status,
                     Integer exitCode, String exitedAt, long holderPid, List<Exec> execs, Boolean terminal) {
    }

    /** An exec: pid 0 until started (the agent holds its spec from Exec on). */
    record Exec(String execId, String stdin, String stdout, String stderr, long pid, String status, Integer exitCode,
                String exitedAt, long holderPid, Boolean terminal) {
    }
}
