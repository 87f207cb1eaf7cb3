package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The CRI half of bench/vmm.sh (not a test: runs only with -Dkuasar.vmm.bench=true). Pods of handler kuasar-vmm,
 * cold boot and templated alternating, one at a time: RunPodSandbox, then CreateContainer + StartContainer of busybox
 * sleep until CRI reports it RUNNING; the PSS of the pod's host processes (QEMU, the holder of its streams) while it
 * runs; then the pod is removed. Writes a small table to -Dkuasar.vmm.bench.out.
 */
@EnabledIfSystemProperty(named = "kuasar.vmm.bench", matches = "true",
        disabledReason = "a benchmark, not a test: run it with -Dkuasar.vmm.bench=true")
class VmmBench extends CriTestBase {
    @Test
    void podStartColdAndTemplated() throws Exception {
        int pods = Integer.getInteger("kuasar.vmm.bench.pods", 5);
        VmmHost.awaitTemplate(env, VmmPodTest.VM_WAIT);
        Map<String, List<Long>> runp = new LinkedHashMap<>();
        Map<String, List<Long>> running = new LinkedHashMap<>();
        Map<String, List<Long>> pss = new LinkedHashMap<>();
        for (String mode : List.of("cold", "template")) {
            runp.put(mode, new ArrayList<>());
            running.put(mode, new ArrayList<>());
            pss.put(mode, new ArrayList<>());
        }
        for (int i = -1; i < pods; i++) { // i = -1: one warm-up pod each, not counted
            for (String mode : List.of("cold", "template")) {
                PodSandboxConfig pod = podConfig("bench-" + mode + "-" + (i + 1)).toBuilder()
                        .putAnnotations("io.kuasar.vmm.boot", mode).build();
                long t0 = System.nanoTime();
                String podId = runPod(pod, VmmPodTest.VMM_HANDLER);
                long t1 = System.nanoTime();
                String c = cri.runContainer(podId, pod, containerConfig("sleeper", busybox(), "sleep", "3600"));
                cri.waitForState(c, ContainerState.CONTAINER_RUNNING, VmmPodTest.VM_WAIT);
                long t2 = System.nanoTime();
                Thread.sleep(1000); // settle, then the memory of a running pod
                long kb = VmmHost.qemuPssKb(podId);
                for (Processes.Proc p : Processes.matching(p -> p.argvMentions("kuasar-vmm-hold-" + c))) {
                    kb += VmmHost.pssKb(p.pid());
                }
                cri.removePod(podId);
                forget(podId);
                if (i >= 0) {
                    runp.get(mode).add((t1 - t0) / 1_000_000);
                    running.get(mode).add((t2 - t0) / 1_000_000);
                    pss.get(mode).add(kb);
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append(String.format("through CRI, %d pods per mode, alternating (median / p90):%n", pods));
        out.append("| boot | RunPodSandbox | pod start to container running | PSS per VM pod (QEMU + holder) |\n");
        out.append("| --- | --- | --- | --- |\n");
        for (String mode : runp.keySet()) {
            out.append(String.format("| %s | %d / %d ms | %d / %d ms | %d / %d KiB |%n", mode,
                    median(runp.get(mode)), p90(runp.get(mode)), median(running.get(mode)), p90(running.get(mode)),
                    median(pss.get(mode)), p90(pss.get(mode))));
        }
        out.append("raw ms (RunPodSandbox, to running): ");
        runp.keySet().forEach(m -> out.append(m).append(' ').append(runp.get(m)).append(' ').append(running.get(m)).append(' '));
        out.append('\n');
        System.out.print(out);
        Files.writeString(Path.of(System.getProperty("kuasar.vmm.bench.out", "vmm-bench.txt")), out.toString());
    }

    private static long median(List<Long> xs) {
        List<Long> s = new ArrayList<>(xs);
        Collections.sort(s);
        return s.isEmpty() ? 0 : s.get((s.size() - 1) / 2);
    }

    private static long p90(List<Long> xs) {
        List<Long> s = new ArrayList<>(xs);
        Collections.sort(s);
        return s.isEmpty() ? 0 : s.get(Math.max(0, (int) Math.ceil(s.size() * 0.9) - 1));
    }
}
