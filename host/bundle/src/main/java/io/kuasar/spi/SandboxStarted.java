package io.kuasar.spi;

import java.time.Instant;
import java.util.Map;

/**
 * The result of starting a sandbox.
 *
 * @param pid            a process whose {@code /proc/PID/ns/*} stand for the pod (CRI writes them into container
 *                       specs; a driver without such a process returns a pid and rewrites those paths at task create)
 * @param createdAt      when the sandbox was created
 * @param taskAddress    where containerd should reach the Task API ({@code ttrpc+unix://...}); empty means the host
 *                       serves it and calls {@link SandboxDriver#tasks(String)}
 * @param taskApiVersion Task API version served at {@code taskAddress} (3 for {@code containerd.task.v3})
 * @param labels         labels containerd records for the sandbox
 */
public record SandboxStarted(long pid, Instant createdAt, String taskAddress, int taskApiVersion,
                             Map<String, String> labels) {
    public SandboxStarted {
        taskAddress = taskAddress == null ? "" : taskAddress;
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** A sandbox whose Task API the host serves. */
    public static SandboxStarted servedByHost(long pid, Instant createdAt) {
        return new SandboxStarted(pid, createdAt, "", 3, Map.of());
    }
}
