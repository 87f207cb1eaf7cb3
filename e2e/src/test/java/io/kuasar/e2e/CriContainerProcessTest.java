package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerStatus;
import io.kuasar.api.cri.v1.KeyValue;

/**
 * The container's process as the pod spec and the image define it (critest "Container" runtime tests): environment,
 * working directory, command and args against the image's Entrypoint/Cmd (busybox image here: no Entrypoint,
 * Cmd ["sh"], Env PATH), and the error for a command that does not exist.
 */
class CriContainerProcessTest extends CriParityTestBase {

    @OnParityHandlers
    void environmentVariablesReachTheProcessBesideTheImagesOwn(String handler) {
        Pod p = pod("env", handler);
        ContainerConfig c = container("env").toBuilder()
                .addEnvs(KeyValue.newBuilder().setKey("GREETING").setValue("hello"))
                .addEnvs(KeyValue.newBuilder().setKey("WITH_SPACES").setValue("a b  c"))
                .addEnvs(KeyValue.newBuilder().setKey("EMPTY").setValue("")).build();
        // ${EMPTY+set}: "set" when EMPTY is defined, even as the empty string.
        assertEquals("hello|a b  c|set|/usr/sbin:/usr/bin:/sbin:/bin\n", p.output(c,
                "echo \"$GREETING|$WITH_SPACES|${EMPTY+set}|$PATH\""));
    }

    @OnParityHandlers
    void workingDirIsTheProcessesDirectoryAndIsCreatedWhenTheImageLacksIt(String handler) {
        Pod p = pod("workdir", handler);
        assertEquals("/srv/app\n", p.output(container("workdir").toBuilder().setWorkingDir("/srv/app").build(), "pwd"));
    }

    @OnParityHandlers
    void commandAndArgsReplaceTheImagesEntrypointAndCmd(String handler) {
        Pod p = pod("cmdargs", handler);
        ContainerConfig c = container("cmdargs", "echo", "from-command").toBuilder().addArgs("arg-1").addArgs("arg 2").build();
        String id = cri.runContainer(p.id, p.config, c);
        cri.waitForState(id, io.kuasar.api.cri.v1.ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals("from-command arg-1 arg 2\n", cri.waitForLog(id, "from-command", WAIT));
    }

    @OnParityHandlers
    void argsAloneReplaceTheImagesCmd(String handler) {
        Pod p = pod("args", handler);
        ContainerConfig c = container("args").toBuilder().addArgs("echo").addArgs("args-only").build();
        String id = cri.runContainer(p.id, p.config, c);
        cri.waitForState(id, io.kuasar.api.cri.v1.ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals("args-only\n", cri.waitForLog(id, "args-only", WAIT));
    }

    @OnParityHandlers
    void withNeitherCommandNorArgsTheImagesCmdRuns(String handler) {
        // The image's Cmd is a bare "sh": with stdin closed it reads end of file and exits 0 at once.
        Pod p = pod("imagecmd", handler);
        String id = cri.createContainer(p.id, p.config, container("imagecmd"));
        assertTrue(verboseInfo(id).replace(" ", "").contains("\"args\":[\"sh\"]"), () -> verboseInfo(id));
        cri.startContainer(id);
        ContainerStatus s = cri.waitForState(id, io.kuasar.api.cri.v1.ContainerState.CONTAINER_EXITED, WAIT);
        assertEquals(0, s.getExitCode());
        assertEquals("Completed", s.getReason());
    }

    @OnParityHandlers
    void commandThatDoesNotExistFailsTheStartNamingIt(String handler) {
        Pod p = pod("nocmd", handler);
        String id = cri.createContainer(p.id, p.config, container("nocmd", "/no/such/binary"));
        StatusRuntimeException e = failure(() -> cri.startContainer(id));
        assertTrue(e.getMessage().contains("/no/such/binary") && e.getMessage().contains("no such file"), e.getMessage());
    }
}
