import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.NodeEnv;
import io.kuasar.e2e.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * bench/wasm.sh's CRI figures, through the private containerd: serial pod start (RunPodSandbox + CreateContainer +
 * StartContainer) of stock `runc` busybox `sleep` pods and `kuasar-wasm` pods (the test module sleeping),
 * alternating pod by pod, then `kuasar-wasmtime` pods, then `kuasar-wasmedge` pods; and the host memory each running
 * container adds: growth of the node's PSS (keeper + JVM) per kuasar-wasm and per kuasar-wasmtime container, PSS of the shims and pause processes per stock pod, PSS
 * of the WasmEdge processes per kuasar-wasmedge container. All pods stay running until the end, then are removed.
 * Usage: java -cp E2E_CLASSPATH WasmCriBench.java PODS WASM_IMAGE
 */
public class WasmCriBench {
    public static void main(String[] a) throws Exception {
        int pods = Integer.parseInt(a[0]);
        String wasmImage = a[1];
        NodeEnv env = NodeEnv.fromEnvironment();
        Path logs = Files.createTempDirectory("wasm-cri-bench");
        long node = Long.parseLong(Files.readString(env.nodeDir().resolve("kuasar.pid")).trim());
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        List<String> created = new ArrayList<>();
        try (CriClient cri = new CriClient(env.containerdSock())) {
            for (String h : List.of("runc", "kuasar-wasm", "kuasar-wasmtime", "kuasar-wasmedge")) { // warm-up: images, classes, JIT
                String id = start(cri, env, logs, h, wasmImage, "warm-" + h, ms, created);
                cri.removePod(id);
                created.remove(id);
            }
            ms.clear();
            long shimsBefore = pss(Processes.allShims()) + pss(Processes.allPauses());
            long nodeBefore = nodePss(node);
            for (int i = 0; i < pods; i++) {
                start(cri, env, logs, "runc", wasmImage, "stock" + i, ms, created);
                start(cri, env, logs, "kuasar-wasm", wasmImage, "chicory" + i, ms, created);
            }
            Thread.sleep(1000);
            long nodeAfterWasm = nodePss(node);
            long shimsAfter = pss(Processes.allShims()) + pss(Processes.allPauses());
            for (int i = 0; i < pods; i++) {
                start(cri, env, logs, "kuasar-wasmtime", wasmImage, "wasmtime" + i, ms, created);
            }
            Thread.sleep(1000);
            long nodeAfterWasmtime = nodePss(node);
            for (int i = 0; i < pods; i++) {
                start(cri, env, logs, "kuasar-wasmedge", wasmImage, "edge" + i, ms, created);
            }
            Thread.sleep(1000);
            long edgeProcs = pss(Processes.matching(p -> String.join(" ", p.argv()).contains("usr/bin/wasmedge")));
            long nodeAfterEdge = nodePss(node);
            for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
                List<Double> s = new ArrayList<>(e.getValue());
                Collections.sort(s);
                System.out.printf("%s pod_start_ms median %.0f p90 %.0f (n=%d)%n", e.getKey(), s.get(s.size() / 2),
                        s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.9) - 1)), s.size());
            }
            System.out.printf("runc memory_per_pod_kb %d (shims + pause PSS)%n", (shimsAfter - shimsBefore) / pods);
            System.out.printf("kuasar-wasm memory_per_container_kb %d (node PSS growth)%n",
                    (nodeAfterWasm - nodeBefore) / pods);
            System.out.printf("kuasar-wasmtime memory_per_container_kb %d (node PSS growth)%n",
                    (nodeAfterWasmtime - nodeAfterWasm) / pods);
            System.out.printf("kuasar-wasmedge memory_per_container_kb %d (WasmEdge process PSS; node grew %d kB)%n",
                    edgeProcs / pods, (nodeAfterEdge - nodeAfterWasmtime) / pods);
        } finally {
            try (CriClient cri = new CriClient(env.containerdSock())) {
                for (String id : created) {
                    cri.removePod(id);
                }
            }
        }
    }

    static String start(CriClient cri, NodeEnv env, Path logs, String handler, String wasmImage, String name,
                        Map<String, List<Double>> ms, List<String> created) {
        PodSandboxConfig pod = CriClient.podConfig(name, name, logs.resolve(name), env.cgroupParent(), "wasm-bench");
        ContainerConfig c = handler.equals("runc")
                ? CriClient.containerConfig("c", env.busyboxImage(), "sleep", "3600")
                : CriClient.containerConfig("c", wasmImage, "/wasm-test.wasm").toBuilder()
                        .addAllArgs(List.of("quiet", "sleep", "3600")).build();
        long t0 = System.nanoTime();
        String id = cri.runPod(pod, handler);
        created.add(id);
        cri.runContainer(id, pod, c);
        ms.computeIfAbsent(handler, k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1e6);
        return id;
    }

    static long nodePss(long pid) {
        long kb = pss(pid);
        for (Processes.Proc p : Processes.matching(p -> p.ppid() == pid && p.comm().equals("java"))) {
            kb += pss(p.pid());
        }
        return kb;
    }

    static long pss(List<Processes.Proc> procs) {
        return procs.stream().mapToLong(p -> pss(p.pid())).sum();
    }

    static long pss(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception gone) {
            return 0;
        }
        return 0;
    }
}
