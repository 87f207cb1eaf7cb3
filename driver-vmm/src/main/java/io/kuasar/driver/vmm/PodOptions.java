package io.kuasar.driver.vmm;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.kuasar.driver.kit.PodSysctls;
import io.kuasar.spi.PodConfig;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the driver reads from CRI's raw {@code runtime.v1.PodSandboxConfig} (the Controller's options) beyond the
 * host's decoded PodConfig: the pod's annotations (field 7) and its resources (linux = 8, resources = 5: cpu_period
 * = 1, cpu_quota = 2, memory_limit_in_bytes = 4), turned into the annotation keys {@link VmmSettings} sizes by.
 * Decoded by field number so the bundle needs no CRI classes.
 */
final class PodOptions {
    private static final String CRI_CONFIG = "runtime.v1.PodSandboxConfig";

    private PodOptions() {
    }

    /**
     * Refuses a pod that asks for one of the host's namespaces (hostNetwork, hostPID, hostIPC): its containers run
     * under the guest's kernel, which cannot share a namespace with the host's. Nothing is made before this check.
     */
    static void refuseHostNamespaces(PodConfig pod) throws SandboxException {
        if (pod == null) {
            return;
        }
        String[][] modes = {
                {pod.network() == PodConfig.NamespaceMode.NODE ? "network" : null, "hostNetwork"},
                {pod.pid() == PodConfig.NamespaceMode.NODE ? "PID" : null, "hostPID"},
                {pod.ipc() == PodConfig.NamespaceMode.NODE ? "IPC" : null, "hostIPC"}};
        for (String[] m : modes) {
            if (m[0] != null) {
                throw SandboxException.invalid("pod " + pod.name() + " asks for " + m[1] + ", but the vmm sandboxer"
                        + " runs it in a VM with its own kernel, which cannot share the host's " + m[0] + " namespace");
            }
        }
    }

    /**
     * The pod's sysctls as the agent writes them ("name=value", sorted), refused unless each is namespaced
     * ({@link PodSysctls}): they live in the guest's namespaces, which are the pod's; any other would tune the whole
     * guest kernel, which a pod on another runtime class could not do, so it is refused the same way.
     */
    static List<String> sysctls(PodConfig pod) throws SandboxException {
        List<String> out = new ArrayList<>();
        if (pod == null) {
            return out;
        }
        try { // as on runc: namespaced ones only (UTS ones too: the guest's UTS namespace is the pod's as well)
            PodSysctls.classify(pod.sysctls(), true, pod.network() != PodConfig.NamespaceMode.NODE);
        } catch (IllegalArgumentException e) {
            throw SandboxException.invalid(e.getMessage());
        }
        for (Map.Entry<String, String> e : new TreeMap<>(pod.sysctls()).entrySet()) {
            if (e.getValue().contains("\n")) {
                throw SandboxException.invalid("sysctl " + e.getKey() + " has a value of several lines");
            }
            out.add(e.getKey().replace('/', '.') + "=" + e.getValue());
        }
        return out;
    }

    /** The sandbox's annotations, then the pod config's annotations and resources (the latter win). */
    static Map<String, String> annotations(SandboxSpec spec) throws SandboxException {
        Map<String, String> out = new HashMap<>(spec.annotations());
        if (spec.options() == null || !spec.options().typeUrl().endsWith(CRI_CONFIG)) {
            return out;
        }
        try {
            CodedInputStream in = CodedInputStream.newInstance(spec.options().value());
            for (int tag; (tag = in.readTag()) != 0; ) {
                int field = WireFormat.getTagFieldNumber(tag);
                if (field == 7 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    readEntry(CodedInputStream.newInstance(in.readByteArray()), out);
                } else if (field == 8 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    readLinux(CodedInputStream.newInstance(in.readByteArray()), out);
                } else {
                    in.skipField(tag);
                }
            }
        } catch (IOException e) {
            throw SandboxException.invalid("the pod sandbox config is not a valid " + CRI_CONFIG + ": " + e.getMessage());
        }
        return out;
    }

    private static void readEntry(CodedInputStream in, Map<String, String> out) throws IOException {
        String key = "";
        String value = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> key = in.readString();
                case 2 -> value = in.readString();
                default -> in.skipField(tag);
            }
        }
        out.put(key, value);
    }

    private static void readLinux(CodedInputStream in, Map<String, String> out) throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (WireFormat.getTagFieldNumber(tag) != 5) {
                in.skipField(tag);
                continue;
            }
            CodedInputStream r = CodedInputStream.newInstance(in.readByteArray());
            for (int t; (t = r.readTag()) != 0; ) {
                switch (WireFormat.getTagFieldNumber(t)) {
                    case 1 -> put(out, VmmSettings.CRI_CPU_PERIOD, r.readInt64());
                    case 2 -> put(out, VmmSettings.CRI_CPU_QUOTA, r.readInt64());
                    case 4 -> put(out, VmmSettings.CRI_MEMORY, r.readInt64());
                    default -> r.skipField(t);
                }
            }
        }
    }

    private static void put(Map<String, String> out, String key, long value) {
        if (value > 0) {
            out.put(key, Long.toString(value));
        }
    }
}
