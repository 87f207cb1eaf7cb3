package io.kuasar.driver.runc.process;

import io.kuasar.driver.kit.HostFiles;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kuasar.driver.kit.ProcStat;
import io.kuasar.spi.SandboxException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Exit-status decoding and the other small parsers the driver relies on. */
class WaitStatusTest {
    @Test
    void exitCodes() {
        assertEquals(0, WaitStatus.exitCode(WaitStatus.CLD_EXITED, 0));
        assertEquals(3, WaitStatus.exitCode(WaitStatus.CLD_EXITED, 3));
        assertEquals(255, WaitStatus.exitCode(WaitStatus.CLD_EXITED, 255));
        assertEquals(137, WaitStatus.exitCode(WaitStatus.CLD_KILLED, 9));
        assertEquals(143, WaitStatus.exitCode(WaitStatus.CLD_KILLED, 15));
        assertEquals(134, WaitStatus.exitCode(WaitStatus.CLD_DUMPED, 6));
        assertEquals(255, WaitStatus.exitCode(5 /* CLD_STOPPED */, 19));
    }

    @Test
    void procStatWithAwkwardCommand() {
        String stat = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200";
        ProcStat s = ProcStat.parse(1234, stat);
        assertEquals('S', s.state());
        assertEquals(1, s.ppid());
        assertEquals(987654, s.startTime());
    }

    @Test
    void runcLogMessage() {
        assertEquals("container \"x\" does not exist", RuncLog.lastError(List.of(
                "{\"level\":\"info\",\"msg\":\"hello\",\"time\":\"t\"}",
                "{\"level\":\"error\",\"msg\":\"container \\\"x\\\" does not exist\",\"time\":\"t\"}")));
        assertEquals("flag provided but not defined", RuncLog.lastError(List.of("flag provided but not defined")));
        assertEquals(SandboxException.Code.NOT_FOUND,
                Runc.failure("start", "x", 1, "container does not exist").code());
        assertEquals(SandboxException.Code.FAILED_PRECONDITION,
                Runc.failure("start", "x", 1, "cannot start a container that has stopped").code());
    }

    @Test
    void mountOptions() {
        Mounts.Parsed p = Mounts.parse(List.of("rbind", "ro", "nosuid", "lowerdir=/a:/b", "index=off"));
        assertEquals(Mounts.MS_BIND | Mounts.MS_REC | Mounts.MS_RDONLY | 2, p.flags());
        assertEquals("lowerdir=/a:/b,index=off", p.data());
        assertEquals(0, Mounts.parse(List.of("ro", "rw")).flags());
        assertEquals("/a b", HostFiles.unescape("/a\\040b"));
    }
}
