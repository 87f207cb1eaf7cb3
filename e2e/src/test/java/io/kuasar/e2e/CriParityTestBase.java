package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.ContainerStatusRequest;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.LinuxContainerSecurityContext;
import io.kuasar.api.cri.v1.LinuxSandboxSecurityContext;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ground of the CRI parity suite (issues 4 and 15): every test runs on containerd's stock {@code runc} handler (shim
 * per pod, pause container) and on this node's {@code kuasar-runc}, {@code kuasar-runsc} and {@code kuasar-vmm}, in
 * the same containerd, with the same assertions. A behaviour that holds on stock and not on ours fails only that
 * handler's run. What a handler's isolation technology cannot do is skipped, with the reason, by
 * {@link HandlerLimits}; nothing else may be skipped.
 *
 * <p>Observations are made from inside the containers (ExecSync output, the container's CRI log) or from CRI's
 * status; nothing sleeps for a fixed time, every wait polls against {@link #WAIT}.
 */
abstract class CriParityTestBase extends CriTestBase {

    static final String RUNSC = "kuasar-runsc";
    static final String VMM = "kuasar-vmm";

    /**
     * Runs the test method once per handler; the handler name is the method's String parameter and its label. The
     * names are spelled out here (the stock handler first) because {@code scripts/TestReport.java} reads them from
     * this line to count each handler's passes and skips.
     */
    @Target(ElementType.METHOD)
    @Retention(RetentionPolicy.RUNTIME)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"runc", "kuasar-runc", "kuasar-runsc", "kuasar-vmm"})
    @interface OnParityHandlers {
    }

    /**
     * Skips, with its reason, an {@link OnParityHandlers} test whose subject the handler's technology cannot do (the
     * test's label is its handler).
     */
    @BeforeEach
    void skipWhatTheTechnologyCannotDo(TestInfo test) {
        Method method = test.getTestMethod().orElseThrow();
        if (method.isAnnotationPresent(OnParityHandlers.class)) {
            HandlerLimits.reason(test.getDisplayName(), method.getName())
                    .ifPresent(reason -> Assumptions.abort(test.getDisplayName() + ": " + reason));
        }
    }

    /** A container config running {@code command} in busybox, with kubelet's namespace options. */
    protected ContainerConfig container(String name, String... command) {
        return CriClient.containerConfig(name, busybox(), command);
    }

    /** A container that only sleeps: a target for ExecSync observations. */
    protected ContainerConfig sleeper(String name) {
        return container(name, "sleep", "3600");
    }

    /** {@code config} with its Linux security context changed by {@code change} (kubelet namespaces kept). */
    protected static ContainerConfig secured(ContainerConfig config, Consumer<LinuxContainerSecurityContext.Builder> change) {
        ContainerConfig.Builder b = config.toBuilder();
        change.accept(b.getLinuxBuilder().getSecurityContextBuilder());
        return b.build();
    }

    /** {@code pod} with its Linux sandbox security context changed by {@code change}. */
    protected static PodSandboxConfig securedPod(PodSandboxConfig pod, Consumer<LinuxSandboxSecurityContext.Builder> change) {
        PodSandboxConfig.Builder b = pod.toBuilder();
        change.accept(b.getLinuxBuilder().getSecurityContextBuilder());
        return b.build();
    }

    /** A fresh pod named {@code name} on {@code handler} with this test's defaults. */
    protected Pod pod(String name, String handler) {
        return pod(podConfig(name), handler);
    }

    protected Pod pod(PodSandboxConfig config, String handler) {
        return new Pod(runPod(config, handler), config);
    }

    /** A running pod with the config it was made from (CreateContainer needs both). */
    protected final class Pod {
        final String id;
        final PodSandboxConfig config;

        Pod(String id, PodSandboxConfig config) {
            this.id = id;
            this.config = config;
        }

        /** CreateContainer + StartContainer, then waits until CRI reports it RUNNING. */
        String running(ContainerConfig c) {
            String cid = cri.runContainer(id, config, c);
            cri.waitForState(cid, ContainerState.CONTAINER_RUNNING, WAIT);
            return cid;
        }

        /** CreateContainer + StartContainer, then waits until it EXITED; returns its final status. */
        ContainerStatus exited(ContainerConfig c) {
            String cid = cri.runContainer(id, config, c);
            return cri.waitForState(cid, ContainerState.CONTAINER_EXITED, WAIT);
        }

        /**
         * Runs {@code script} under {@code sh -c} in a container made from {@code base} (its command replaced),
         * which must exit 0; returns what it printed (stdout and stderr, in the order of CRI's log). A last marker
         * line shows the whole output reached the log, which containerd may finish copying after the exit.
         */
        String output(ContainerConfig base, String script) {
            ContainerConfig c = base.toBuilder().clearCommand().clearArgs()
                    .addCommand("sh").addCommand("-c").addCommand(script + "\nrc=$?; echo " + END + "; exit $rc").build();
            String cid = cri.runContainer(id, config, c);
            ContainerStatus s = cri.waitForState(cid, ContainerState.CONTAINER_EXITED, WAIT);
            String log = cri.waitForLog(cid, END, WAIT);
            assertEquals(0, s.getExitCode(), () -> "script of " + c.getMetadata().getName() + " failed; it printed:\n"
                    + log + "reason '" + s.getReason() + "' message '" + s.getMessage() + "'");
            return log.substring(0, log.lastIndexOf(END));
        }
    }

    /** Marks the end of a script's output in its log. */
    static final String END = "--end-of-script--";

    /** Runs {@code sh -c script} in a running container; asserts exit 0 and returns stdout. */
    protected String sh(String containerId, String script) {
        ExecSyncResponse r = execSync(containerId, "sh", "-c", script);
        assertEquals(0, r.getExitCode(), () -> "'" + script + "' in " + containerId + " exited " + r.getExitCode()
                + "; stdout '" + r.getStdout().toStringUtf8() + "' stderr '" + r.getStderr().toStringUtf8() + "'");
        return r.getStdout().toStringUtf8();
    }

    /** The value of {@code field} in /proc/1/status (the container's init), e.g. CapEff, NoNewPrivs, Seccomp. */
    protected String initStatus(String containerId, String field) {
        String out = sh(containerId, "grep '^" + field + ":' /proc/1/status");
        return out.substring(out.indexOf(':') + 1).strip();
    }

    /** The namespace of the container's own process ({@code readlink /proc/self/ns/TYPE}), e.g. "net:[4026531840]". */
    protected String namespaceInside(String containerId, String type) {
        return sh(containerId, "readlink /proc/self/ns/" + type).strip();
    }

    /**
     * Whether the container's {@code type} namespace is the host's: the same namespace inode on the same kernel. A VM
     * guest's own root namespaces carry the same well-known inode numbers as the host's (the kernel gives its initial
     * namespaces fixed ones), so an inode alone does not tell; the kernel's boot id does.
     */
    protected boolean inHostNamespace(String containerId, String type) {
        String ns = namespaceInside(containerId, type);
        return ns.equals(hostNamespace(type)) && onHostKernel(containerId);
    }

    /**
     * Whether the container runs under the host's kernel (not a VM guest's): only then does it see the host's mount
     * table and namespaces as they are, rather than through its VM's devices.
     */
    protected boolean onHostKernel(String containerId) {
        return sh(containerId, "cat " + BOOT_ID).strip().equals(hostBootId());
    }

    /** A random id each kernel boot makes: the same in every container of one kernel, another in each VM. */
    static final String BOOT_ID = "/proc/sys/kernel/random/boot_id";

    static String hostBootId() {
        return HostTools.procLine(Path.of(BOOT_ID));
    }

    /** The same for this test JVM, which runs in the host's namespaces. */
    protected static String hostNamespace(String type) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/" + type)).toString();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the host's " + type + " namespace", e);
        }
    }

    /** Verbose ContainerStatus info ("info" JSON: pid, runtimeSpec, ...), as containerd's CRI reports it. */
    protected String verboseInfo(String containerId) {
        String info = cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId)
                .setVerbose(true).build()).getInfoMap().get("info");
        assertNotNull(info, "no verbose info for " + containerId);
        return info;
    }

    /** The gRPC error {@code call} must fail with, message included, for error-case assertions. */
    protected static StatusRuntimeException failure(Executable call) {
        return org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, call);
    }

    /** A directory under this test's temp root, for host-side mount sources. */
    protected Path hostDir(String name) {
        try {
            return Files.createDirectories(logRoot.resolve("host").resolve(name));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
