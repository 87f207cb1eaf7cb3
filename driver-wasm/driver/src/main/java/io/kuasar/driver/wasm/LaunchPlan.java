package io.kuasar.driver.wasm;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How to run one wasm container, derived at Task Create from the bundle's config.json and persisted with the
 * container, so a restarted driver can start or clean up a container without reading containerd's bundle again.
 *
 * @param module        host path of the .wasm file (inside the container's rootfs)
 * @param args          argv; args[0] as the spec gives it
 * @param env           WASI environment, "KEY=VALUE" in spec order
 * @param preopens      WASI preopened directories: guest path to host directory ("/" is the rootfs)
 * @param readonly      guest paths of the preopens the spec marks read-only
 * @param roBinds       read-only bind mounts the driver made for those (host paths), to remove at delete
 * @param memoryLimit   linux.resources.memory.limit in bytes, 0 when none
 * @param cgroupsPath   linux.cgroupsPath as CRI wrote it, may be empty
 */
record LaunchPlan(String module, List<String> args, List<String> env, Map<String, String> preopens,
                  List<String> readonly, List<String> roBinds, long memoryLimit, String cgroupsPath) {
    LaunchPlan {
        args = args == null ? List.of() : List.copyOf(args);
        env = env == null ? List.of() : List.copyOf(env);
        preopens = preopens == null ? Map.of() : new LinkedHashMap<>(preopens);
        readonly = readonly == null ? List.of() : List.copyOf(readonly);
        roBinds = roBinds == null ? List.of() : List.copyOf(roBinds);
        cgroupsPath = cgroupsPath == null ? "" : cgroupsPath;
    }

    /** The environment as an ordered map; of duplicate keys the first wins, as getenv(3) finds it. */
    Map<String, String> envMap() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String kv : env) {
            int eq = kv.indexOf('=');
            String k = eq < 0 ? kv : kv.substring(0, eq);
            m.putIfAbsent(k, eq < 0 ? "" : kv.substring(eq + 1));
        }
        return m;
    }
}
