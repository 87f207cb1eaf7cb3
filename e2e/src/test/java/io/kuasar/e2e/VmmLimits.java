package io.kuasar.e2e;

import static java.util.Map.entry;

import java.util.Map;

/**
 * What {@code kuasar-vmm} cannot do in the CRI parity suite, by test method, with the reason (see HandlerLimits). A
 * VM pod's containers run under the guest's kernel: nothing of the host's kernel (its namespaces, its mount table)
 * can be shared with them. The driver refuses such pods and containers with these reasons (VmmRefusalsTest).
 */
final class VmmLimits {
    private static final String OWN_KERNEL = "a VM pod runs under its guest's own kernel, which cannot share the host's ";

    static final Map<String, String> SKIPS = Map.ofEntries(
            entry("hostNetworkPodUsesTheHostsNetworkAndUtsNamespaces", OWN_KERNEL + "network namespace (refused)"),
            entry("hostPidPodSeesTheHostsProcesses", OWN_KERNEL + "PID namespace (refused)"),
            entry("hostIpcPodUsesTheHostsIpcNamespaceAndDevShm", OWN_KERNEL + "IPC namespace (refused)"),
            entry("bidirectionalPropagationShowsTheContainersMountsOnTheHost", OWN_KERNEL
                    + "mount table: a mount made in the guest cannot reach the host (Bidirectional is refused)"),
            entry("addingACapabilityTheHostLacksFailsAndSaysSo", "the container's kernel is the guest's, whose"
                    + " capability bounding set is whole: a capability the host's lacks is granted inside the VM"));

    private VmmLimits() {
    }
}
