package io.kuasar.endpoint;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerUpdateRequest;
import io.kuasar.api.cri.v1.NamespaceMode;
import io.kuasar.api.cri.v1.NamespaceOption;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import io.kuasar.spi.Mount;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.TypedData;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Conversions between containerd's protobuf types and the driver SPI's records, shared by gRPC and ttrpc. */
final class ProtoMapping {
    /** The type URL containerd's CRI gives the pod config it passes as the Controller's Create options. */
    static final String POD_SANDBOX_CONFIG = "runtime.v1.PodSandboxConfig";

    private ProtoMapping() {
    }

    static List<Mount> mounts(List<io.kuasar.api.containerd.types.Mount> mounts) {
        return mounts.stream().map(m -> new Mount(m.getType(), m.getSource(), m.getTarget(), m.getOptionsList()))
                .toList();
    }

    static List<io.kuasar.api.containerd.types.Mount> protoMounts(List<Mount> mounts) {
        return mounts.stream().map(m -> io.kuasar.api.containerd.types.Mount.newBuilder().setType(m.type())
                .setSource(m.source()).setTarget(m.target()).addAllOptions(m.options()).build()).toList();
    }

    static TypedData typed(Any any) {
        return new TypedData(any.getTypeUrl(), any.getValue().toByteArray());
    }

    static Any any(TypedData data) {
        return Any.newBuilder().setTypeUrl(data.typeUrl()).setValue(ByteString.copyFrom(data.value())).build();
    }

    static Timestamp timestamp(Instant instant) {
        if (instant == null) {
            return Timestamp.getDefaultInstance();
        }
        return Timestamp.newBuilder().setSeconds(instant.getEpochSecond()).setNanos(instant.getNano()).build();
    }

    /** containerd reports unsigned 32-bit pids and exit codes. */
    static int uint32(long value) {
        return (int) value;
    }

    /** Decodes CRI's pod config from the Create options, or null when the client is not CRI. */
    static PodConfig podConfig(Any options) throws SandboxException {
        String type = options.getTypeUrl();
        if (!type.equals(POD_SANDBOX_CONFIG) && !type.endsWith("/" + POD_SANDBOX_CONFIG)) {
            return null;
        }
        PodSandboxConfig c;
        try {
            c = PodSandboxConfig.parseFrom(options.getValue());
        } catch (InvalidProtocolBufferException e) {
            throw SandboxException.invalid("sandbox options are not a valid " + POD_SANDBOX_CONFIG + ": " + e.getMessage());
        }
        NamespaceOption ns = c.getLinux().getSecurityContext().getNamespaceOptions();
        return new PodConfig(c.getMetadata().getName(), c.getMetadata().getNamespace(), c.getMetadata().getUid(),
                c.getHostname(), c.getLogDirectory(), mode(ns.getNetwork()), mode(ns.getPid()), mode(ns.getIpc()),
                c.getLinux().getCgroupParent(), c.getLinux().getSysctlsMap(), c.getDnsConfig().getServersList(),
                c.getDnsConfig().getSearchesList(), c.getDnsConfig().getOptionsList());
    }

    private static PodConfig.NamespaceMode mode(NamespaceMode mode) {
        return switch (mode) {
            case CONTAINER -> PodConfig.NamespaceMode.CONTAINER;
            case NODE -> PodConfig.NamespaceMode.NODE;
            case TARGET -> PodConfig.NamespaceMode.TARGET;
            default -> PodConfig.NamespaceMode.POD;
        };
    }

    /**
     * The sandboxer an Update is for. containerd 2.1's sandbox proxy leaves the request's {@code sandboxer} empty on
     * Update (core/sandbox/proxy/controller.go sets only id, sandbox and fields), while the sandbox record it sends
     * names its sandboxer: the request's when given, else the record's.
     */
    static String updateSandboxer(ControllerUpdateRequest r) {
        return r.getSandboxer().isEmpty() ? r.getSandbox().getSandboxer() : r.getSandboxer();
    }

    /**
     * containerd's sandbox record of an Update as the SPI's spec: its OCI spec (for CRI pods the pause container's;
     * linux.resources, annotations) as the options, its labels. The record has no rootfs, netns or CRI pod config,
     * which only Create carries: those stay empty. INVALID_ARGUMENT when the record is missing or names another id.
     */
    static SandboxSpec updatedSandbox(ControllerUpdateRequest r, String namespace) throws SandboxException {
        if (!r.hasSandbox()) {
            throw SandboxException.invalid("update of sandbox " + r.getSandboxId() + " carries no sandbox record");
        }
        String recordId = r.getSandbox().getSandboxId();
        if (!recordId.isEmpty() && !recordId.equals(r.getSandboxId())) {
            throw SandboxException.invalid("update of sandbox " + r.getSandboxId() + " carries the record of sandbox "
                    + recordId);
        }
        return new SandboxSpec(r.getSandboxId(), namespace, "", List.of(), null, typed(r.getSandbox().getSpec()),
                Map.of(), r.getSandbox().getLabelsMap());
    }
}
