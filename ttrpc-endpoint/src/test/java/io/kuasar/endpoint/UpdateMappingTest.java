package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerUpdateRequest;
import io.kuasar.api.containerd.types.Sandbox;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a Controller Update hands the router: the sandbox record containerd sent, never nulls. */
class UpdateMappingTest {
    private static final String SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
    private static final byte[] SPEC = "{\"linux\":{\"resources\":{\"memory\":{\"limit\":268435456}}}}"
            .getBytes(StandardCharsets.UTF_8);

    /** Shaped as containerd 2.1's proxy sends it: no sandboxer in the request, the record names it. */
    private static ControllerUpdateRequest.Builder fromProxy() {
        return ControllerUpdateRequest.newBuilder().setSandboxId("pod1").addFields("spec").setSandbox(Sandbox
                .newBuilder().setSandboxId("pod1").setSandboxer("runc").putLabels("team", "a")
                .setSpec(Any.newBuilder().setTypeUrl(SPEC_TYPE).setValue(ByteString.copyFrom(SPEC))));
    }

    @Test
    void theRecordsSpecAndLabelsReachTheDriver() throws SandboxException {
        SandboxSpec spec = ProtoMapping.updatedSandbox(fromProxy().build(), "k8s.io");
        assertEquals("pod1", spec.id());
        assertEquals("k8s.io", spec.namespace());
        assertEquals(SPEC_TYPE, spec.options().typeUrl());
        assertArrayEquals(SPEC, spec.options().value());
        assertEquals(Map.of("team", "a"), spec.labels());
        // what only Create carries is empty, not null
        assertEquals(List.of(), spec.rootfs());
        assertEquals(Map.of(), spec.annotations());
        assertEquals("", spec.netnsPath());
        assertNull(spec.pod());
    }

    @Test
    void theSandboxerIsTheRequestsElseTheRecords() {
        assertEquals("runc", ProtoMapping.updateSandboxer(fromProxy().build()));
        assertEquals("runsc", ProtoMapping.updateSandboxer(fromProxy().setSandboxer("runsc").build()));
    }

    @Test
    void anUpdateWithoutItsRecordOrWithAnothersIsRefused() {
        SandboxException none = assertThrows(SandboxException.class, () -> ProtoMapping.updatedSandbox(
                ControllerUpdateRequest.newBuilder().setSandboxId("pod1").build(), "k8s.io"));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, none.code());
        assertTrue(none.getMessage().contains("no sandbox record"), none.getMessage());
        SandboxException other = assertThrows(SandboxException.class, () -> ProtoMapping.updatedSandbox(
                fromProxy().setSandboxId("pod2").build(), "k8s.io"));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, other.code());
        assertTrue(other.getMessage().contains("record of sandbox pod1"), other.getMessage());
    }
}
