package io.kuasar.driver.quark;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.HostFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The sandbox bundle Quark is started on, as Kuasar's quark sandboxer lays it out: {@code config.json} made from
 * the pod's configuration, an empty {@code rootfs/} with {@code dev/}, in a folder of its own that also holds
 * Quark's task socket and pid file.
 */
final class QuarkBundle {
    static final String CONFIG = "config.json";
    static final String TASK_SOCKET = "task.sock";
    static final String PID_FILE = "quark.pid";
    private static final ObjectMapper JSON = new ObjectMapper();

    private QuarkBundle() {
    }

    /** Writes the bundle into {@code dir} (created 0700). */
    static void write(Path dir, Pod pod) throws IOException {
        HostFiles.privateDir(dir);
        Files.createDirectories(dir.resolve("rootfs").resolve("dev"));
        AtomicFiles.writeAtomically(dir.resolve(CONFIG),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec(pod)));
    }

    /** The pod's OCI spec: its hostname, namespaces (CRI's netns joined by path) and the CRI sandbox annotations. */
    static ObjectNode spec(Pod pod) {
        ObjectNode spec = JSON.createObjectNode();
        spec.put("ociVersion", "1.0.2");
        ObjectNode process = spec.putObject("process");
        process.putArray("args").add("/pause");
        process.put("cwd", "/");
        process.putArray("env").add("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        process.putObject("user").put("uid", 0).put("gid", 0);
        spec.putObject("root").put("path", "rootfs").put("readonly", false);
        if (!pod.hostname.isEmpty()) {
            spec.put("hostname", pod.hostname);
        }
        ObjectNode annotations = spec.putObject("annotations");
        annotations.put(GvisorSpec.CONTAINER_TYPE, "sandbox").put(GvisorSpec.SANDBOX_ID, pod.id);
        pod.labels.forEach((k, v) -> annotations.put("io.kuasar.label." + k, v));
        ArrayNode ns = spec.putObject("linux").putArray("namespaces");
        for (String type : List.of("pid", "ipc", "uts", "mount")) {
            ns.addObject().put("type", type);
        }
        ObjectNode net = ns.addObject().put("type", "network");
        if (!pod.netnsPath.isEmpty()) {
            net.put("path", pod.netnsPath);
        }
        return spec;
    }

    /** Kuasar's command line: {@code quark -r BUNDLE sandbox --task-socket SOCK --id ID --pid-file FILE}. */
    static List<String> command(String binary, List<String> extraArgs, Path dir, String podId) {
        List<String> argv = new ArrayList<>(List.of(binary, "-r", dir.toString(), "sandbox",
                "--task-socket", dir.resolve(TASK_SOCKET).toString(), "--id", podId,
                "--pid-file", dir.resolve(PID_FILE).toString()));
        argv.addAll(extraArgs);
        return argv;
    }

    static String taskAddress(Path dir) {
        return "ttrpc+unix://" + dir.resolve(TASK_SOCKET);
    }
}
