package io.kuasar.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The test node's paths and names, read from the same environment variables as {@code scripts/node-env.sh} with
 * the same defaults, so Java and the scripts agree without sourcing anything.
 *
 * @param repo           the repository root (holds {@code scripts/})
 * @param nodeDir        KUASAR_NODE_DIR
 * @param containerdSock CONTAINERD_SOCK: CRI is served there
 * @param sandboxerSock  KUASAR_SANDBOXER_SOCK: our host's gRPC Controller
 * @param cgroupParent   KUASAR_CGROUP_PARENT: what test pods put in linux.cgroup_parent
 * @param busyboxImage   KUASAR_BUSYBOX_IMAGE
 */
public record NodeEnv(Path repo, Path nodeDir, Path containerdSock, Path sandboxerSock, String cgroupParent,
                      String busyboxImage) {

    /** The handler served by our host (containerd config: sandboxer 'runc' = our proxy plugin). */
    public static final String KUASAR_HANDLER = "kuasar-runc";
    /** The stock handler: containerd-shim-runc-v2 plus a pause container per pod. */
    public static final String STOCK_HANDLER = "runc";
    /** The sandboxer name containerd passes to our Controller for {@link #KUASAR_HANDLER}. */
    public static final String KUASAR_SANDBOXER = "runc";

    public static NodeEnv fromEnvironment() {
        return from(System.getenv(), System.getProperty("kuasar.repo"));
    }

    static NodeEnv from(Map<String, String> env, String repoProperty) {
        Path repo = Path.of(first(repoProperty, env.get("KUASAR_REPO"), findRepo())).toAbsolutePath().normalize();
        Path nodeDir = Path.of(first(env.get("KUASAR_NODE_DIR"), "/tmp/kuasar-node"));
        return new NodeEnv(repo, nodeDir,
                Path.of(first(env.get("CONTAINERD_SOCK"), nodeDir.resolve("containerd.sock").toString())),
                Path.of(first(env.get("KUASAR_SANDBOXER_SOCK"), nodeDir.resolve("kuasar.sock").toString())),
                first(env.get("KUASAR_CGROUP_PARENT"), "/kuasar"),
                first(env.get("KUASAR_BUSYBOX_IMAGE"), "localhost/kuasar/busybox:1.0"));
    }

    /** Our host's state root ({@code -Dkuasar.state.dir} in scripts/kuasar-up.sh). */
    public Path kuasarStateDir() {
        return nodeDir.resolve("kuasar/state");
    }

    /** Our host's run root ({@code -Dkuasar.run.dir} in scripts/kuasar-up.sh). */
    public Path kuasarRunDir() {
        return nodeDir.resolve("kuasar/run");
    }

    /**
     * The file of armed test crash points of a node the e2e tests started (KUASAR_TEST_HALT_FILE; see HaltPoints in
     * ttrpc-endpoint): in the node dir, which is root's and 0700.
     */
    public Path haltFile() {
        return nodeDir.resolve("test-halt-points");
    }

    /**
     * containerd's {@code ctr} (KUASAR_CONTAINERD_PREFIX, by default {@code <KUASAR_CACHE or repo/.cache>/containerd},
     * then {@code usr/bin/ctr}, as in node-env.sh).
     */
    public Path ctr() {
        Map<String, String> env = System.getenv();
        String cache = first(env.get("KUASAR_CACHE"), repo.resolve(".cache").toString());
        return Path.of(first(env.get("KUASAR_CONTAINERD_PREFIX"), Path.of(cache).resolve("containerd").toString()))
                .resolve("usr/bin/ctr");
    }

    public Path script(String name) {
        return repo.resolve("scripts").resolve(name);
    }

    /**
     * The last {@code max} lines of the node's logs (ours, the keeper's, containerd's) that name {@code id}: what a
     * failing test prints so that a rare failure in a CI run, whose node dir is gone afterwards, can still be read.
     */
    public String logLinesAbout(String id, int max) {
        List<String> lines = new ArrayList<>();
        for (String log : List.of("kuasar.log", "keeper.log", "containerd.log")) {
            try (Stream<String> all = Files.lines(nodeDir.resolve(log), StandardCharsets.UTF_8)) {
                all.filter(l -> l.contains(id)).forEach(l -> lines.add(log + ": " + l));
            } catch (IOException | UncheckedIOException e) {
                lines.add(log + ": unreadable (" + e.getMessage() + ")");
            }
        }
        return String.join("\n", lines.subList(Math.max(0, lines.size() - max), lines.size()));
    }

    private static String first(String... values) {
        for (String v : values) {
            if (v != null && !v.isBlank()) {
                return v;
            }
        }
        return null;
    }

    /** The nearest directory at or above the working directory holding scripts/node-env.sh (mvn -pl e2e runs in e2e/). */
    private static String findRepo() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("scripts/node-env.sh"))) {
                return p.toString();
            }
        }
        return ".";
    }
}
