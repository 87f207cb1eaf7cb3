package io.kuasar.e2e;

import java.util.Map;

/**
 * What {@code kuasar-runsc} cannot do in the CRI parity suite, by test method, with the reason (see HandlerLimits).
 * Each is a limit of gVisor, whose containers run on its own kernel (the Sentry); the driver refuses what a user would
 * otherwise get silently wrong (driver-quark's GvisorLimits, listed in driver-quark/README.md).
 */
final class RunscLimits {
    static final Map<String, String> SKIPS = Map.ofEntries(
            Map.entry("hostPidPodSeesTheHostsProcesses", "gVisor runs the pod's processes on its own kernel, which"
                    + " cannot share the host's PID namespace (the driver refuses hostPID)"),
            Map.entry("hostIpcPodUsesTheHostsIpcNamespaceAndDevShm", "gVisor implements IPC and /dev/shm in its own"
                    + " kernel, which cannot share the host's IPC namespace (the driver refuses hostIPC)"),
            Map.entry("hostToContainerPropagationShowsMountsTheHostMakesLater", "gVisor serves host directories to its"
                    + " kernel through its gofer: mounts never propagate (the driver refuses HostToContainer)"),
            Map.entry("bidirectionalPropagationShowsTheContainersMountsOnTheHost", "gVisor's mounts live in its own"
                    + " kernel and never reach the host (the driver refuses Bidirectional)"),
            Map.entry("tmpfsBackedDirectoryIsMountedAsTmpfs", "gVisor serves a host directory through its gofer, which"
                    + " its /proc/mounts names 9p whatever the host's filesystem (the files do reach the host's tmpfs)"),
            Map.entry("namespacedSysctlsOfThePodAreSeenByItsContainersAndNotByTheHost", "gVisor's /proc/sys is its own"
                    + " kernel's: it has no ip_unprivileged_port_start, its IPC sysctls are fixed (the driver refuses"
                    + " IPC sysctls; network ones are set in the pod's netns, which gVisor's host network stack uses)"),
            Map.entry("addedNetAdminLetsTheContainerChangeALinkOfThePod", "gVisor on the host's network stack"
                    + " (--network=host, how this driver runs it) cannot change links: ip link set fails whatever the"
                    + " capabilities"),
            Map.entry("seccompProfileOfTheContainerFiltersItsExecdProcesses", "runsc 20240729 applies the container's"
                    + " seccomp profile to its own processes only, not to exec'd ones (gVisor does since 2026-03:"
                    + " \"Apply OCI seccomp filters to exec processes\")"),
            Map.entry("localhostProfileErrnoRetIsWhatTheBlockedCallReturns", "runsc 20240729 makes a call its OCI"
                    + " seccomp profile blocks with SCMP_ACT_ERRNO fail with EPERM whatever the rule's errnoRet (gVisor's"
                    + " current runsc/specutils/seccomp reads errnoRet)"),
            Map.entry("noNewPrivsIsSetOnlyWhenAsked", "gVisor takes no_new_privs as always set (runsc logs"
                    + " \"noNewPrivileges ignored\") and its /proc/PID/status has no NoNewPrivs line"));

    private RunscLimits() {
    }
}
