package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Node directories and sockets nobody else can plant, end to end: the node jar refuses to start (exit 78, naming the
 * path) when its state, run, config or drivers directory, or a parent, is writable by group or others or owned by
 * another user, and when another live node serves on its socket, whose file it then leaves alone; the running test
 * node keeps serving. The scripts refuse a node directory another user made. (Runs as root: directories are given
 * away to uid 65534.)
 */
class NodePlacesTest extends CriTestBase {
    private static final int NOBODY = 65534;

    @Test
    void theNodeRefusesToStartOnDirectoriesOthersCouldChange() throws Exception {
        Path node = privateDir(logRoot.resolve("node"));
        Path state = privateDir(node.resolve("state"));

        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwx---"));
        NodeCli.Result groupWritable = start(node, Map.of());
        refused(groupWritable, "refusing " + state.toRealPath() + ": it is writable by group (mode 0770)");

        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
        Path drivers = privateDir(node.resolve("drivers"));
        Files.setAttribute(drivers, "unix:uid", NOBODY);
        refused(start(node, Map.of()), "refusing " + drivers.toRealPath() + ": this directory is owned by uid " + NOBODY);

        Files.setAttribute(drivers, "unix:uid", 0);
        Files.setPosixFilePermissions(node, PosixFilePermissions.fromString("rwxrwxrwx")); // a parent of them all
        refused(start(node, Map.of()), "refusing " + node.toRealPath() + ": it is writable by group and others (mode 0777)");
    }

    @Test
    void aSocketAnotherLiveNodeServesIsNeitherTakenNorDeleted() throws Exception {
        Path node = privateDir(logRoot.resolve("node"));
        NodeCli.Result r = start(node, Map.of("kuasar.listen", env.sandboxerSock().toString()));
        refused(r, "another node serves on " + env.sandboxerSock());
        assertTrue(Files.exists(env.sandboxerSock(), LinkOption.NOFOLLOW_LINKS), "the live node's socket is still there");
        NodeCli.Result drivers = new NodeCli(env, logRoot).admin("drivers");
        assertEquals(0, drivers.code(), drivers::toString);
        assertEquals("v1", cri.runtime().version(io.kuasar.api.cri.v1.VersionRequest.getDefaultInstance())
                .getRuntimeApiVersion().substring(0, 2), "containerd still talks to the node");
    }

    @Test
    void theScriptsRefuseANodeDirectoryAnotherUserMadeFirst() throws Exception {
        Path planted = privateDir(logRoot.resolve("planted"));
        Files.setAttribute(planted, "unix:uid", NOBODY); // as if another user had made it first under /tmp
        for (String script : List.of("kuasar-up.sh", "containerd-up.sh")) {
            ProcessBuilder pb = new ProcessBuilder("bash", env.script(script).toString()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().put("KUASAR_NODE_DIR", planted.toString());
            pb.environment().put("KUASAR_REPO", env.repo().toString());
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), script + " finished");
            assertEquals(1, p.exitValue(), () -> script + ":\n" + out);
            assertTrue(out.contains("refusing " + planted + ": " + planted.toRealPath() + " is owned by uid " + NOBODY),
                    () -> script + ":\n" + out);
            try (var files = Files.list(planted)) {
                assertEquals(List.of(), files.toList(), script + " wrote nothing into it");
            }
        }
    }

    /** Starts a node with its places under {@code node}; each refusal ends it before any framework starts. */
    private NodeCli.Result start(Path node, Map<String, String> overrides) throws IOException, InterruptedException {
        Map<String, String> props = new java.util.LinkedHashMap<>(Map.of(
                "kuasar.state.dir", node.resolve("state").toString(),
                "kuasar.run.dir", node.resolve("run").toString(),
                "kuasar.config.dir", node.resolve("config").toString(),
                "kuasar.drivers.dir", node.resolve("drivers").toString(),
                "kuasar.listen", node.resolve("kuasar.sock").toString(),
                "gosh.args", "--nointeractive"));
        props.putAll(overrides);
        List<String> options = props.entrySet().stream().map(e -> "-D" + e.getKey() + "=" + e.getValue()).toList();
        return new NodeCli(env, logRoot).run(options, List.of());
    }

    private static void refused(NodeCli.Result r, String text) {
        assertEquals(78, r.code(), r::toString);
        assertTrue(r.err().contains("kuasar: refusing to start: ") && r.err().contains(text),
                () -> "expected \"" + text + "\" in:\n" + r);
    }

    private static Path privateDir(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        return dir;
    }
}
