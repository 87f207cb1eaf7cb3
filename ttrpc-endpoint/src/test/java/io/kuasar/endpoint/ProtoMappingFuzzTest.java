package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerCreateRequest;
import io.kuasar.api.containerd.services.sandbox.v1.ControllerUpdateRequest;
import io.kuasar.api.containerd.task.v3.CreateTaskRequest;
import io.kuasar.api.containerd.task.v3.ExecProcessRequest;
import io.kuasar.api.containerd.task.v3.UpdateTaskRequest;
import io.kuasar.host.fuzz.FuzzInput;
import io.kuasar.host.fuzz.FuzzSeeds;
import io.kuasar.spi.Mount;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.TypedData;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Fuzz target {@code proto-mapping}: containerd's requests, parsed from the input's bytes, through what the endpoint
 * does with them before a driver sees them: {@link RequestFields#requireNoNul} (the NUL check of every string field,
 * however deep), then {@link ProtoMapping}'s conversions to the SPI (pod config from the Create options, mounts,
 * typed data). What must hold:
 * <ul>
 *   <li>the NUL check refuses a request exactly when some string field holds a NUL (found here by walking the
 *       message's descriptor, field by field), with INVALID_ARGUMENT naming a field path that really holds one;</li>
 *   <li>{@code podConfig} gives null for options that are not CRI's, else a PodConfig or INVALID_ARGUMENT;</li>
 *   <li>mounts and typed data convert both ways without loss; nothing else is thrown.</li>
 * </ul>
 * Input: byte 0 picks the request type (CreateTask, ExecProcess, UpdateTask, ControllerCreate, ControllerUpdate, or a
 * bare pod config under one of three type URLs), the rest is the message.
 */
class ProtoMappingFuzzTest {
    private static final List<Parser<? extends Message>> REQUESTS = List.of(CreateTaskRequest.parser(),
            ExecProcessRequest.parser(), UpdateTaskRequest.parser(), ControllerCreateRequest.parser(),
            ControllerUpdateRequest.parser());
    private static final String[] TYPE_URLS = {ProtoMapping.POD_SANDBOX_CONFIG,
            "type.googleapis.com/" + ProtoMapping.POD_SANDBOX_CONFIG, "runtime.v1.ContainerConfig"};

    @FuzzTest(maxDuration = "10s")
    void requests(byte[] data) {
        FuzzInput in = new FuzzInput(data);
        int pick = in.u8() % (REQUESTS.size() + TYPE_URLS.length);
        byte[] body = in.rest();
        if (pick >= REQUESTS.size()) {
            String url = TYPE_URLS[pick - REQUESTS.size()];
            podConfig(Any.newBuilder().setTypeUrl(url).setValue(ByteString.copyFrom(body)).build());
            return;
        }
        Message m;
        try {
            m = REQUESTS.get(pick).parseFrom(body);
        } catch (InvalidProtocolBufferException e) {
            return; // the RPC layer refuses it before us
        }
        String nul = referenceFirstNul(m);
        try {
            RequestFields.requireNoNul(m);
            assertNull(nul, "a NUL in " + nul + " went through");
        } catch (SandboxException e) {
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
            assertNotNull(nul, "refused a request without a NUL: " + e.getMessage());
            String path = e.getMessage().replaceFirst("^request field (.*) contains a NUL byte$", "$1");
            assertTrue(holdsNul(m, path), "the message names " + path + ", which holds no NUL (" + nul + " does)");
            return;
        }
        if (m instanceof CreateTaskRequest r) {
            mounts(r.getRootfsList());
            typed(r.getOptions());
        } else if (m instanceof ControllerCreateRequest r) {
            mounts(r.getRootfsList());
            typed(r.getOptions());
            podConfig(r.getOptions());
        } else if (m instanceof UpdateTaskRequest r) {
            typed(r.getResources());
        } else if (m instanceof ExecProcessRequest r) {
            typed(r.getSpec());
        }
    }

    private static void podConfig(Any options) {
        boolean cri = options.getTypeUrl().equals(ProtoMapping.POD_SANDBOX_CONFIG)
                || options.getTypeUrl().endsWith("/" + ProtoMapping.POD_SANDBOX_CONFIG);
        try {
            PodConfig c = ProtoMapping.podConfig(options);
            if (!cri) {
                assertNull(c);
                return;
            }
            assertNotNull(c);
            for (Object field : List.of(c.name(), c.podNamespace(), c.uid(), c.hostname(), c.logDirectory(),
                    c.network(), c.pid(), c.ipc(), c.cgroupParent(), c.sysctls(), c.dnsServers(), c.dnsSearches(),
                    c.dnsOptions())) {
                assertNotNull(field);
            }
        } catch (SandboxException e) {
            assertTrue(cri, "refused options that are not CRI's");
            assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        }
    }

    private static void mounts(List<io.kuasar.api.containerd.types.Mount> proto) {
        List<Mount> spi = ProtoMapping.mounts(proto);
        assertEquals(proto.size(), spi.size());
        List<io.kuasar.api.containerd.types.Mount> back = ProtoMapping.protoMounts(spi);
        for (int i = 0; i < proto.size(); i++) {
            io.kuasar.api.containerd.types.Mount p = proto.get(i), b = back.get(i);
            assertEquals(List.of(p.getType(), p.getSource(), p.getTarget()), List.of(b.getType(), b.getSource(), b.getTarget()));
            assertEquals(p.getOptionsList(), b.getOptionsList());
        }
    }

    private static void typed(Any any) {
        TypedData t = ProtoMapping.typed(any);
        assertEquals(any.getTypeUrl(), t.typeUrl());
        assertArrayEquals(any.getValue().toByteArray(), t.value());
        Any back = ProtoMapping.any(t);
        assertEquals(any.getTypeUrl(), back.getTypeUrl());
        assertEquals(any.getValue(), back.getValue());
    }

    /** Some string field holding a NUL, found through the descriptor (every field, set or not), or null. */
    private static String referenceFirstNul(Message m) {
        for (FieldDescriptor f : m.getDescriptorForType().getFields()) {
            if (f.isRepeated()) {
                for (int i = 0; i < m.getRepeatedFieldCount(f); i++) {
                    String bad = value(f, m.getRepeatedField(f, i));
                    if (bad != null) {
                        return f.getName() + "/" + bad;
                    }
                }
            } else if (f.getJavaType() != FieldDescriptor.JavaType.MESSAGE || m.hasField(f)) {
                String bad = value(f, m.getField(f));
                if (bad != null) {
                    return f.getName() + "/" + bad;
                }
            }
        }
        return null;
    }

    private static String value(FieldDescriptor f, Object v) {
        return switch (f.getJavaType()) {
            case STRING -> ((String) v).indexOf(0) >= 0 ? "" : null;
            case MESSAGE -> referenceFirstNul((Message) v);
            default -> null;
        };
    }

    /** True when the field at {@code path} (as RequestFields names it: a.b[2].c, map entries as map.key/value) holds a NUL. */
    private static boolean holdsNul(Object node, String path) {
        if (path.isEmpty()) {
            return node instanceof String s && s.indexOf(0) >= 0;
        }
        if (!(node instanceof Message m)) {
            return false;
        }
        int dot = path.indexOf('.');
        String step = dot < 0 ? path : path.substring(0, dot);
        String rest = dot < 0 ? "" : path.substring(dot + 1);
        int index = -1;
        if (step.endsWith("]") && step.contains("[")) {
            index = Integer.parseInt(step.substring(step.indexOf('[') + 1, step.length() - 1));
            step = step.substring(0, step.indexOf('['));
        }
        FieldDescriptor f = m.getDescriptorForType().findFieldByName(step);
        if (f == null) {
            fail("the message names a field " + step + " that " + m.getDescriptorForType().getName() + " has not");
        }
        List<Object> candidates = new ArrayList<>();
        if (f.isRepeated()) {
            if (index >= 0) {
                candidates.add(m.getRepeatedField(f, index));
            } else {
                for (int i = 0; i < m.getRepeatedFieldCount(f); i++) {
                    candidates.add(m.getRepeatedField(f, i)); // a map: its entries
                }
            }
        } else {
            candidates.add(m.getField(f));
        }
        for (Object c : candidates) {
            if (holdsNul(c, rest)) {
                return true;
            }
        }
        return false;
    }

    @TestFactory
    Stream<DynamicTest> seeds() {
        return FuzzSeeds.replay("proto-mapping", this::requests);
    }
}
