package io.kuasar.spi;

import java.util.List;
import java.util.Map;

/**
 * What containerd asks for when it creates a sandbox.
 *
 * @param id          sandbox id, validated
 * @param namespace   containerd namespace the sandbox lives in (e.g. {@code k8s.io}); events are sent there
 * @param netnsPath   network namespace made by CRI for the pod, empty for host networking
 * @param rootfs      the sandbox's root filesystem mounts, if containerd prepared any
 * @param pod         the pod as CRI described it, or null when the client is not CRI
 * @param options     the raw options containerd passed (for CRI a {@code runtime.v1.PodSandboxConfig})
 * @param annotations sandbox annotations
 * @param labels      sandbox labels
 */
public record SandboxSpec(String id, String namespace, String netnsPath, List<Mount> rootfs, PodConfig pod,
                          TypedData options, Map<String, String> annotations, Map<String, String> labels) {
    public SandboxSpec {
        rootfs = rootfs == null ? List.of() : List.copyOf(rootfs);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        netnsPath = netnsPath == null ? "" : netnsPath;
        namespace = namespace == null ? "" : namespace;
    }
}
