package io.kuasar.bench;

import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.e2e.CriClient;
import io.kuasar.e2e.NodeEnv;
import java.util.List;

/**
 * The driver the upgrade benchmark upgrades, and what its pods run: each of the node's isolation technologies has
 * one. The Task probe is ExecSync (Task Exec, Start, Wait), or ContainerStats (Task Stats) for Wasm, which has no
 * exec.
 *
 * @param sandboxer  the name the admin socket's {@code upgrade} command and the node log use
 * @param handler    containerd's runtime handler for its pods
 * @param bundleJar  the driver bundle's file name in the node jar, {@code jar/<bundleJar>-<version>.jar}
 * @param wasm       its pods run the Wasm test module instead of busybox
 * @param pods       default number of pods kept running (VMs without KVM are few)
 * @param upgrades   default number of upgrades in a row
 */
record UpgradeTarget(String sandboxer, String handler, String bundleJar, boolean wasm, int pods, int upgrades) {
    static final String WASM_IMAGE = System.getenv().getOrDefault("KUASAR_WASM_TEST_IMAGE",
            "localhost/kuasar/wasm-test:1.0");
    /** The test module's own sleep (scripts/images.d/wasm.sh, driver-wasm/testdata/wasm-test.c). */
    static final String WASM_MODULE = "/wasm-test.wasm";

    static final List<UpgradeTarget> ALL = List.of(
            new UpgradeTarget("runc", NodeEnv.KUASAR_HANDLER, "kuasar-driver-runc", false, 50, 20),
            new UpgradeTarget("runsc", "kuasar-runsc", "kuasar-driver-quark", false, 10, 20),
            new UpgradeTarget("wasmedge", "kuasar-wasmedge", "kuasar-driver-wasm-driver", true, 20, 20),
            new UpgradeTarget("vmm", "kuasar-vmm", "kuasar-driver-vmm", false, 3, 10));

    static UpgradeTarget named(String sandboxer) {
        return ALL.stream().filter(t -> t.sandboxer.equals(sandboxer)).findFirst().orElseThrow(
                () -> new IllegalArgumentException("no upgrade target " + sandboxer + "; one of "
                        + ALL.stream().map(UpgradeTarget::sandboxer).toList()));
    }

    /** A container that runs until its pod is removed. */
    ContainerConfig sleeper(String name, NodeEnv env) {
        return wasm ? CriClient.containerConfig(name, WASM_IMAGE, WASM_MODULE).toBuilder()
                .addArgs("quiet").addArgs("sleep").addArgs("36000").build()
                : CriClient.containerConfig(name, env.busyboxImage(), "sleep", "36000");
    }

    /** A container that ends at once (warm-up). */
    ContainerConfig quick(String name, NodeEnv env) {
        return wasm ? CriClient.containerConfig(name, WASM_IMAGE, WASM_MODULE).toBuilder().addArgs("quiet").build()
                : CriClient.containerConfig(name, env.busyboxImage(), "true");
    }

    /** Whether the Task probe can be ExecSync. */
    boolean exec() {
        return !wasm;
    }

    /** The node log's lines for this driver's service: "driver for sandboxer(s) [NAME] left", "serves [NAME]". */
    String logName() {
        return "[" + sandboxer + "]";
    }
}
