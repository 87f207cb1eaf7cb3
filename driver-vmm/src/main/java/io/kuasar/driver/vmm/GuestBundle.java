package io.kuasar.driver.vmm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kuasar.driver.kit.AtomicFiles;
import io.kuasar.driver.kit.Commands;
import io.kuasar.driver.kit.HostFiles;
import io.kuasar.driver.kit.PodFiles;
import io.kuasar.driver.kit.TaskSpecs;
import io.kuasar.spi.SandboxException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The bundle a container runs from inside the guest: {@code share/ID/config.json} (containerd's spec, made fit for
 * the guest) and {@code share/ID/rootfs} (the rootfs, mounted on the host, seen through 9p). What changes:
 * <ul>
 * <li>network, IPC and UTS namespaces are the guest's own (the VM is the pod: containers share localhost), so CRI's
 * {@code /proc/PID/ns/*} entries go; a pod-shared PID namespace is the one the agent holds for the pod, any other
 * namespace given by path becomes a new one;</li>
 * <li>the cgroup is {@code /kuasar/ID} in the guest's cgroup2 tree, where the agent reads Stats and Pids;</li>
 * <li>bind mounts of host files are copied into the share; the pod's hosts, resolv.conf and hostname, which
 * containerd leaves to the sandboxer, are bound from the pod's copies in {@code share/_pod}; host directories are
 * bind-mounted into it (private, or a slave of the host's for HostToContainer; Bidirectional is refused); the pod's
 * host /dev/shm becomes the pod's tmpfs in the guest; hooks and labels are dropped.</li>
 * </ul>
 */
final class GuestBundle {
    static final String GUEST_SHARE = "/run/kuasar/share";
    /** The pod's PID namespace in the guest, held by the agent for a pod that shares one (agent/podns.c). */
    static final String POD_PIDNS = "/run/kuasar/pidns";
    /** The share's directory of the pod's files (not a container id: those are 64 hex digits). */
    static final String POD_FILES_DIR = "_pod";
    /** Container path to the pod file ({@link PodFiles}) it shows, written into the share at the pod's start. */
    private static final Map<String, String> POD_FILES = Map.of("/etc/hostname", PodFiles.HOSTNAME,
            "/etc/hosts", PodFiles.HOSTS, "/etc/resolv.conf", PodFiles.RESOLV);
    /** The pod's /dev/shm in the guest, a tmpfs the agent mounts for the pod (agent/podns.c). */
    static final String POD_SHM = "/run/kuasar/shm";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> GUEST_NAMESPACES = Set.of("network", "ipc", "uts");

    private GuestBundle() {
    }

    static String guestDir(String containerId) {
        return GUEST_SHARE + "/" + containerId;
    }

    /** Writes the guest's config.json into {@code ctrShare} from the host bundle's; mounts host directories. */
    static void prepare(Path hostConfig, Path ctrShare, String containerId) throws SandboxException, IOException {
        ObjectNode spec; // written back for the guest, so read strictly (UTF-8, an object)
        try {
            spec = TaskSpecs.readConfig(hostConfig, JSON);
        } catch (SandboxException e) {
            throw new SandboxException(e.code(), "config.json of container " + containerId + ": " + e.getMessage());
        }
        if (!spec.path("process").isObject()) {
            throw SandboxException.invalid("config.json of container " + containerId + " has no process");
        }
        boolean readOnly = spec.path("root").path("readonly").asBoolean(false);
        spec.putObject("root").put("path", "rootfs").put("readonly", readOnly);
        spec.remove("hooks");
        ((ObjectNode) spec.get("process")).remove(List.of("apparmorProfile", "selinuxLabel"));
        ObjectNode linux = spec.path("linux").isObject() ? (ObjectNode) spec.get("linux") : spec.putObject("linux");
        linux.remove("mountLabel");
        linux.put("cgroupsPath", "/kuasar/" + containerId);
        if (linux.path("resources").isObject()) {
            forGuest((ObjectNode) linux.get("resources"));
        }
        ArrayNode namespaces = JSON.createArrayNode();
        for (JsonNode ns : linux.path("namespaces")) {
            String type = ns.path("type").asText();
            if (GUEST_NAMESPACES.contains(type)) {
                continue;
            }
            ObjectNode guestNs = namespaces.addObject().put("type", type);
            if (type.equals("pid") && !ns.path("path").asText().isEmpty()) {
                // CRI points a pod-shared PID namespace at the sandbox's pid (QEMU): the guest's is the agent's
                guestNs.put("path", POD_PIDNS);
            }
        }
        linux.set("namespaces", namespaces);
        spec.set("mounts", guestMounts(spec.path("mounts"), ctrShare, containerId));
        AtomicFiles.writeAtomically(ctrShare.resolve("config.json"), JSON.writeValueAsBytes(spec));
    }

    /**
     * A container's LinuxResources as the guest can apply them: without the controllers its cgroup2 tree does not
     * enable (runc would fail on them). At create, and for each Update.
     */
    static ObjectNode forGuest(ObjectNode resources) {
        resources.remove(List.of("hugepageLimits", "blockIO", "rdma", "unified"));
        return resources;
    }

    /**
     * How the share's bind of a host directory takes mounts the host makes under it later: {@code rslave} for
     * HostToContainer, {@code rprivate} otherwise. Bidirectional is refused: a mount the container makes is in the
     * guest's kernel, which cannot put it into the host's mount table.
     */
    private static String hostPropagation(JsonNode mount, String containerId) throws SandboxException {
        String propagation = "rprivate";
        for (JsonNode o : mount.path("options")) {
            switch (o.asText()) {
                case "rslave", "slave" -> propagation = "rslave";
                case "rshared", "shared" -> throw SandboxException.invalid("mount " + mount.path("destination").asText()
                        + " of container " + containerId + " asks for Bidirectional propagation, but the vmm sandboxer"
                        + " runs it in a VM: mounts made under the guest's kernel cannot reach the host");
                default -> {
                }
            }
        }
        return propagation;
    }

    private static ArrayNode guestMounts(JsonNode mounts, Path ctrShare, String containerId)
            throws IOException, SandboxException {
        ArrayNode out = JSON.createArrayNode();
        int n = 0;
        for (JsonNode m : mounts) {
            ObjectNode copy = m.deepCopy();
            boolean bind = "bind".equals(m.path("type").asText());
            for (JsonNode o : m.path("options")) {
                bind |= o.asText().equals("bind") || o.asText().equals("rbind");
            }
            if ("/dev/shm".equals(m.path("destination").asText())) {
                // the spec's own tmpfs or a bind of the host's: either way the pod's one /dev/shm in the guest,
                // mounted by the agent at SetupSandbox (agent/podns.c)
                ObjectNode shm = out.addObject().put("destination", "/dev/shm").put("type", "bind").put("source", POD_SHM);
                shm.putArray("options").add("rbind").add("nosuid").add("noexec").add("nodev");
                continue;
            }
            if (!bind) {
                out.add(copy);
                continue;
            }
            Path source = Path.of(m.path("source").asText("/nonexistent"));
            String name = Integer.toString(n++);
            boolean readOnly = false;
            for (JsonNode o : m.path("options")) {
                readOnly |= o.asText().equals("ro");
            }
            if (Files.isRegularFile(source)) {
                Path dst = Files.createDirectories(ctrShare.resolve("files")).resolve(name);
                Files.copy(source, dst, StandardCopyOption.REPLACE_EXISTING);
                copy.put("source", guestDir(containerId) + "/files/" + name);
            } else if (Files.isDirectory(source)) {
                String propagation = hostPropagation(m, containerId);
                Path dst = Files.createDirectories(ctrShare.resolve("dirs").resolve(name));
                HostFiles.bind(source, dst, readOnly);
                // the share's view follows host mounts made later only as the mount asks (9p shows what it sees)
                Commands.run(List.of("mount", "--make-" + propagation, dst.toString()), 30);
                copy.put("source", guestDir(containerId) + "/dirs/" + name);
            } else {
                continue; // nothing on the host to share: a socket or device has no meaning in the guest
            }
            out.add(copy);
        }
        addPodFiles(out, ctrShare.getParent().resolve(POD_FILES_DIR));
        return out;
    }

    /**
     * containerd binds a pod's hostname, hosts and resolv.conf into its containers only when it made them, which it
     * leaves to a sandboxer: the pod's copies in the share go where the container mounts nothing of its own.
     */
    private static void addPodFiles(ArrayNode mounts, Path podFiles) {
        Set<String> taken = new HashSet<>();
        mounts.forEach(m -> taken.add(m.path("destination").asText()));
        for (Map.Entry<String, String> f : new TreeMap<>(POD_FILES).entrySet()) {
            if (!taken.contains(f.getKey()) && Files.isRegularFile(podFiles.resolve(f.getValue()))) {
                ObjectNode m = mounts.addObject().put("destination", f.getKey()).put("type", "bind")
                        .put("source", GUEST_SHARE + "/" + POD_FILES_DIR + "/" + f.getValue());
                m.putArray("options").add("rbind").add("rprivate");
            }
        }
    }
}
