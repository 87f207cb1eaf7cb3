package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ReopenContainerLogRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Container logs as the kubelet reads and rotates them (critest "Log"): CRI's line format with stream and
 * partial/full tags, long lines split into partial entries, and ReopenContainerLog after the kubelet renamed the
 * file (rotation): new output goes to a new file at the log path, none to the rotated one.
 */
class CriLogsTest extends CriParityTestBase {

    @OnParityHandlers
    void reopenContainerLogAfterRotationWritesNewLinesToTheNewFile(String handler) throws IOException {
        Pod p = pod("rotate", handler);
        String id = p.running(container("ticker", "sh", "-c", "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.05; done"));
        cri.waitForLog(id, "tick-2\n", WAIT);
        Path log = Path.of(cri.containerStatus(id).getLogPath());
        Path rotated = log.resolveSibling(log.getFileName() + ".1");
        Files.move(log, rotated);
        cri.runtime().reopenContainerLog(ReopenContainerLogRequest.newBuilder().setContainerId(id).build());
        long rotatedSize = Files.size(rotated);
        // The new file fills from where the old one stopped: wait for two whole lines in it.
        String fresh = waitForLines(log, 2);
        assertTrue(fresh.startsWith("tick-"), fresh);
        assertEquals(rotatedSize, Files.size(rotated), "the rotated file grows no more after ReopenContainerLog");
        int lastOld = lastTick(CriClient.readLog(rotated));
        int firstNew = Integer.parseInt(fresh.lines().findFirst().orElseThrow().substring("tick-".length()));
        assertTrue(firstNew > lastOld, () -> "new file starts at tick " + firstNew + ", old ended at " + lastOld);
    }

    @OnParityHandlers
    void reopenContainerLogOfAContainerThatIsNotRunningFails(String handler) {
        Pod p = pod("reopen-exited", handler);
        String id = cri.runContainer(p.id, p.config, container("gone", "true"));
        cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT);
        StatusRuntimeException e = failure(() -> cri.runtime().reopenContainerLog(
                ReopenContainerLogRequest.newBuilder().setContainerId(id).build()));
        assertTrue(e.getMessage().contains("running"), e.getMessage());
    }

    @OnParityHandlers
    void streamsAreTaggedAndALineLongerThanTheLimitIsSplitIntoPartialEntries(String handler) throws IOException {
        Pod p = pod("longline", handler);
        // 20000 characters on one line: over containerd's 16 KiB max_container_log_line_size.
        String id = cri.runContainer(p.id, p.config, container("long", "sh", "-c",
                "head -c 20000 /dev/zero | tr '\\0' a; echo; echo to-stderr >&2; printf no-newline"));
        cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT);
        cri.waitForLog(id, "no-newline", WAIT);
        List<String[]> entries = Files.readAllLines(Path.of(cri.containerStatus(id).getLogPath()), StandardCharsets.UTF_8)
                .stream().map(l -> l.split(" ", 4)).toList();
        // stdout's entries joined by their tags (stderr's may come between them: the streams are copied apart).
        StringBuilder stdout = new StringBuilder();
        entries.stream().filter(e -> e.length == 4 && e[1].equals("stdout"))
                .forEach(e -> stdout.append(e[3]).append(e[2].equals("P") ? "" : "\n"));
        assertEquals("a".repeat(20000) + "\nno-newline", stdout.toString().stripTrailing(),
                "the long line is whole once its entries are joined");
        List<String[]> stdoutAs = entries.stream().filter(e -> e.length == 4 && e[3].startsWith("a")).toList();
        assertTrue(stdoutAs.size() >= 2, "the long line is split into entries");
        assertEquals("P", stdoutAs.get(0)[2], "the first piece is partial");
        assertEquals("F", stdoutAs.get(stdoutAs.size() - 1)[2], "the last piece ends the line");
        assertTrue(stdoutAs.stream().allMatch(e -> e[1].equals("stdout")));
        assertTrue(entries.stream().anyMatch(e -> e.length == 4 && e[1].equals("stderr") && e[3].equals("to-stderr")),
                "stderr line tagged stderr");
    }

    /** Polls {@code log} until it holds {@code n} complete lines; returns its text. */
    private static String waitForLines(Path log, int n) {
        long end = System.nanoTime() + WAIT.toNanos();
        String text = CriClient.readLog(log);
        while (text.lines().count() < n || !text.endsWith("\n")) {
            if (System.nanoTime() > end) {
                throw new IllegalStateException("reopened log " + log + " has only '" + text + "' after " + WAIT);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            text = CriClient.readLog(log);
        }
        return text;
    }

    private static int lastTick(String text) {
        List<String> lines = text.lines().filter(l -> l.startsWith("tick-")).toList();
        return Integer.parseInt(lines.get(lines.size() - 1).substring("tick-".length()));
    }
}
