package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kuasar.api.containerd.services.sandbox.v1.ControllerCreateRequest;
import io.kuasar.api.containerd.task.v3.CreateTaskRequest;
import io.kuasar.api.containerd.types.Mount;
import io.kuasar.spi.SandboxException;
import org.junit.jupiter.api.Test;

class RequestFieldsTest {
    @Test
    void aCleanRequestPasses() throws SandboxException {
        RequestFields.requireNoNul(CreateTaskRequest.newBuilder().setId("c1").setBundle("/run/b/c1")
                .addRootfs(Mount.newBuilder().setType("overlay").setSource("overlay").addOptions("lowerdir=/a")).build());
        assertNull(RequestFields.firstNul(CreateTaskRequest.getDefaultInstance(), ""));
    }

    @Test
    void aNulByteAnywhereIsInvalidArgumentNamingTheField() {
        assertEquals("bundle", RequestFields.firstNul(CreateTaskRequest.newBuilder().setBundle("/run/b\0x").build(), ""));
        assertEquals("rootfs[1].options[0]", RequestFields.firstNul(CreateTaskRequest.newBuilder()
                .addRootfs(Mount.newBuilder().setSource("ok"))
                .addRootfs(Mount.newBuilder().addOptions("lowerdir=/a\0")).build(), ""));
        assertEquals("annotations.value", RequestFields.firstNul(ControllerCreateRequest.newBuilder()
                .putAnnotations("io.kuasar.x", "a\0b").build(), ""));
        SandboxException e = assertThrows(SandboxException.class, () -> RequestFields.requireNoNul(
                CreateTaskRequest.newBuilder().setStdout("/run/fifo\0").build()));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertEquals("request field stdout contains a NUL byte", e.getMessage());
    }
}
