package io.kuasar.driver.runc.task;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EarlierExecStartTest {
    @TempDir
    Path dir;

    @Test
    void noPidFileIsAFirstStart() {
        assertEquals(EarlierExecStart.NONE, EarlierExecStart.of(dir.resolve("exec-1.pid"), 0, 1));
    }

    @Test
    void aLiveProcessInTheContainersMountNamespaceIsTakenOver() throws Exception {
        // This JVM stands in for both: an exec shares its container init's mount namespace.
        long self = ProcessHandle.current().pid();
        Path pidFile = Files.writeString(dir.resolve("exec-1.pid"), Long.toString(self));
        long pid = EarlierExecStart.pidIn(pidFile);
        assertEquals(self, pid);
        assertEquals(EarlierExecStart.RUNNING, EarlierExecStart.of(pidFile, pid, self));
    }

    @Test
    void anEndedProcessOrAnUnreadablePidFileIsGone() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        Path pidFile = Files.writeString(dir.resolve("exec-1.pid"), Long.toString(p.pid()));
        long self = ProcessHandle.current().pid();
        assertEquals(EarlierExecStart.GONE, EarlierExecStart.of(pidFile, p.pid(), self));
        Path garbled = Files.writeString(dir.resolve("exec-2.pid"), "not a pid");
        assertEquals(0, EarlierExecStart.pidIn(garbled));
        assertEquals(EarlierExecStart.GONE, EarlierExecStart.of(garbled, 0, self));
    }
}
