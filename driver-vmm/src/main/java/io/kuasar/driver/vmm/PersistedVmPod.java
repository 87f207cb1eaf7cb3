package io.kuasar.driver.vmm;

import java.util.List;
import java.util.Map;

/** The JSON a VM pod is persisted as (one file per pod, replaced atomically). */
record PersistedVmPod(int version, String id, String namespace, String netnsPath, String hostname, String state,
                      long pid, String createdAt, String exitedAt, String dir, String accel, int vcpus, int memoryMb,
                      String tap, String address, String gateway, String cgroup, Map<String, String> labels,
                      List<Container> containers) {
    static final int VERSION = 1;

    /** A container and its init; execs are not carried over a driver restart. */
    record Container(String id, String bundle, String stdin, String stdout, String stderr, long pid, String status,
                     Integer exitCode, String exitedAt, long holderPid) {
    }
}
