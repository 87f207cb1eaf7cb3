package io.kuasar.driver.kit;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A pod's sysctls, set once for the pod in its own namespaces as runc does for a pause container: net.* in the
 * pod's network namespace, IPC ones (kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*) in its IPC namespace,
 * kernel.hostname and kernel.domainname in its UTS namespace. Any other sysctl, or one whose namespace the pod
 * shares with the node, is refused: writing it would change the whole node.
 */
public final class PodSysctls {
    /** The namespace a sysctl belongs to. */
    public enum Namespace { IPC, NET, UTS }

    /** IPC-namespaced sysctls besides fs.mqueue.* (the list runc checks). */
    private static final Set<String> IPC_SYSCTLS = Set.of("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
            "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced");

    private PodSysctls() {
    }

    /**
     * Each sysctl (its name in dotted form) with the namespace it is set in.
     *
     * @param ownIpc whether the pod has its own IPC namespace (not hostIPC)
     * @param ownNet whether the pod has its own network namespace (not hostNetwork)
     * @throws IllegalArgumentException naming the sysctl and why it cannot be set
     */
    public static Map<String, Namespace> classify(Map<String, String> sysctls, boolean ownIpc, boolean ownNet) {
        Map<String, Namespace> out = new TreeMap<>();
        for (String name : new TreeMap<>(sysctls).keySet()) {
            String key = name.contains("/") ? name.replace('/', '.') : name;
            Namespace ns;
            if (IPC_SYSCTLS.contains(key) || key.startsWith("fs.mqueue.")) {
                if (!ownIpc) {
                    throw new IllegalArgumentException("sysctl " + key + " needs the pod's own IPC namespace, but the"
                            + " pod uses the node's (hostIPC): setting it would change the whole node");
                }
                ns = Namespace.IPC;
            } else if (key.startsWith("net.")) {
                if (!ownNet) {
                    throw new IllegalArgumentException("sysctl " + key + " needs the pod's own network namespace, but"
                            + " the pod uses the node's (hostNetwork): setting it would change the whole node");
                }
                ns = Namespace.NET;
            } else if (key.equals("kernel.hostname") || key.equals("kernel.domainname")) {
                ns = Namespace.UTS;
            } else {
                throw new IllegalArgumentException("sysctl " + key + " is not namespaced: setting it for a pod would"
                        + " change the whole node");
            }
            if (key.contains("..") || !key.matches("[A-Za-z0-9_.\\-]+")) {
                throw new IllegalArgumentException("sysctl name " + name + " is not valid");
            }
            out.put(key, ns);
        }
        return out;
    }

    /**
     * Checks and writes the sysctls through nsenter into the namespaces given (nsfs paths; null for one the pod
     * shares with the node). /proc/sys shows the sysctls of the writer's namespaces: no remount of /proc needed.
     *
     * @throws IllegalArgumentException naming the sysctl and why it cannot be set (nothing written then)
     */
    public static void apply(Map<String, String> sysctls, String ipcNs, String netNs, String utsNs)
            throws IOException {
        if (sysctls.isEmpty()) {
            return;
        }
        Map<String, Namespace> kinds = classify(sysctls, ipcNs != null, netNs != null && !netNs.isEmpty());
        List<String> pairs = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(sysctls).entrySet()) {
            String key = e.getKey().contains("/") ? e.getKey().replace('/', '.') : e.getKey();
            pairs.add(key.replace('.', '/'));
            pairs.add(e.getValue());
        }
        List<String> argv = new ArrayList<>(List.of("nsenter"));
        if (kinds.containsValue(Namespace.IPC)) {
            argv.add("--ipc=" + ipcNs);
        }
        if (kinds.containsValue(Namespace.NET)) {
            argv.add("--net=" + netNs);
        }
        if (kinds.containsValue(Namespace.UTS)) {
            argv.add("--uts=" + utsNs);
        }
        argv.addAll(List.of("sh", "-c", "while [ $# -gt 1 ]; do printf '%s\\n' \"$2\" > \"/proc/sys/$1\" || exit 1;"
                + " shift 2; done", "sh"));
        argv.addAll(pairs);
        Commands.run(argv, 10);
    }
}
