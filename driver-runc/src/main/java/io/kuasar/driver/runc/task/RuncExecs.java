package io.kuasar.driver.runc.task;

import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.ProcStat;
import io.kuasar.driver.kit.StdioRedirects;
import io.kuasar.driver.runc.DriverContext;
import io.kuasar.driver.runc.pod.Sandbox;
import io.kuasar.driver.kit.tty.ConsoleSocket;
import io.kuasar.driver.kit.tty.Terminals;
import io.kuasar.spi.ExecSpec;
import io.kuasar.spi.Identifiers;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TaskEvent;
import io.kuasar.spi.TypedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The exec processes of a sandbox's containers: adding them (containerd's Exec), starting them, and the details
 * {@code Pids} reports for them.
 */
record RuncExecs(RuncTasks tasks, Sandbox sb, DriverContext ctx, Terminals terminals) {
    private static final String RUNC_DRIVER = "the runc driver";

    /** Starts exec {@code p} of {@code c}: runc exec --detach; returns its pid. Caller holds {@code c.ops}. */
    long start(Container c, Proc p) throws SandboxException {
        if (p.started()) {
            if (p.pid() > 0) {
                return p.pid(); // a replayed (or repeated) Start answers the same
            }
            throw new SandboxException(SandboxException.Code.FAILED_PRECONDITION,
                    "exec " + p.execId + " in " + c.id + " was already started");
        }
        p.startBegins("exec " + p.execId + " of " + c.id);
        try {
            return startProcess(c, p);
        } finally {
            p.startEnds();
        }
    }

    private long startProcess(Container c, Proc p) throws SandboxException {
        c.requireRunning();
        StdioRedirects stdio = Terminals.redirects(p.stdio, RUNC_DRIVER);
        Path work = tasks.workDir(c.id);
        Path pidFile = work.resolve("exec-" + p.execId + ".pid");
        long earlierPid = EarlierExecStart.pidIn(pidFile);
        EarlierExecStart earlier = EarlierExecStart.of(pidFile, earlierPid, c.init.pid());
        if (earlier != EarlierExecStart.NONE) {
            return takeOver(c, p, earlierPid, earlier);
        }
        p.hold();
        try {
            ConsoleSocket console = terminals.open(p.stdio);
            try {
                ctx.runc().exec(c.id, work.resolve("exec-" + p.execId + ".json"), pidFile, stdio, console);
            } catch (SandboxException e) {
                Terminals.discard(console);
                throw e;
            }
            p.console = Terminals.attach(console, p.stdio, "exec " + p.execId + " of " + c.id,
                    Terminals.holderRecord(work, p.execId));
            long pid = RuncTasks.readPid(pidFile);
            p.created(pid, ProcStat.startTime(pid));
            p.running();
            tasks.exits().persist();
            tasks.exits().watch(c, p);
            ctx.events().publish(new TaskEvent.ExecStarted(sb.id, c.id, p.execId, pid));
            return pid;
        } finally {
            if (p.release()) {
                tasks.exits().announce(c, p);
            }
        }
    }

    /**
     * A Start replayed after a crash whose earlier runc exec already ran (see {@link EarlierExecStart}): the
     * process is adopted, not started twice. Its terminal, if it had one, is not reattached.
     */
    private long takeOver(Container c, Proc p, long pid, EarlierExecStart earlier) throws SandboxException {
        p.hold();
        try {
            p.created(pid, earlier == EarlierExecStart.RUNNING ? ProcStat.startTime(pid) : 0);
            p.running();
            tasks.exits().persist();
            if (earlier == EarlierExecStart.RUNNING) {
                tasks.exits().watch(c, p);
            } else {
                tasks.exits().collectFromKeeper(c, p);
            }
            System.getLogger(RuncExecs.class.getName()).log(System.Logger.Level.INFO, "exec " + p.execId + " of " + c.id
                    + ": a previous node JVM had started it (pid " + pid + ", " + earlier.name().toLowerCase()
                    + "); taken over instead of started again");
            ctx.events().publish(new TaskEvent.ExecStarted(sb.id, c.id, p.execId, pid));
            return pid;
        } finally {
            if (p.release()) {
                tasks.exits().announce(c, p);
            }
        }
    }

    /** Records an exec process (containerd's Exec); it starts with {@link #start}. */
    void add(ExecSpec spec) throws SandboxException {
        Container c = tasks.container(spec.id());
        String execId = Identifiers.validate("exec", spec.execId());
        Terminals.redirects(spec.stdio(), RUNC_DRIVER); // refuse unusable stdio now, not at start
        c.ops.lock();
        try {
            c.requireRunning();
            Path processJson = HostFiles.privateDir(tasks.workDir(c.id)).resolve("exec-" + execId + ".json");
            Proc existing = c.execs.get(execId);
            if (existing != null) {
                if (existing.stdio.equals(spec.stdio() == null ? io.kuasar.spi.Stdio.NONE : spec.stdio())
                        && Files.isRegularFile(processJson)
                        && java.util.Arrays.equals(Files.readAllBytes(processJson), spec.spec().value())) {
                    return; // a replay of this Exec: same process, nothing to add
                }
                throw new SandboxException(SandboxException.Code.ALREADY_EXISTS,
                        "exec " + execId + " already exists in container " + c.id);
            }
            AtomicFiles.writeAtomically(processJson, spec.spec().value());
            c.execs.put(execId, new Proc(execId, spec.stdio()));
            tasks.exits().persist();
            ctx.events().publish(new TaskEvent.ExecAdded(sb.id, c.id, execId));
        } catch (IOException e) {
            throw SandboxException.internal("cannot write the process spec of exec " + execId, e);
        } finally {
            c.ops.unlock();
        }
    }

    /** containerd.runc.v1.ProcessDetails{exec_id = 1}, protobuf-encoded by hand: one length-delimited field. */
    static TypedData processDetails(String execId) {
        byte[] s = execId.getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[2 + s.length]; // exec ids are at most 76 bytes: the length fits one varint byte
        b[0] = 0x0a;
        b[1] = (byte) s.length;
        System.arraycopy(s, 0, b, 2, s.length);
        return new TypedData("containerd.runc.v1.ProcessDetails", b);
    }
}
