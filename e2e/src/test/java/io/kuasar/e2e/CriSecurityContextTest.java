package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.Capability;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ExecSyncResponse;
import io.kuasar.api.cri.v1.Int64Value;
import io.kuasar.api.cri.v1.SecurityProfile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Security context of containers (critest "SecurityContext"): user and groups, capabilities, privileged,
 * seccomp, NoNewPrivs, runAsNonRoot. containerd's CRI turns these into the OCI spec for both handlers; what is
 * checked here is that the process really runs with them, seen from inside through /proc/1/status (the container's
 * init) and by trying the operation a capability guards.
 */
class CriSecurityContextTest extends CriParityTestBase {
    private static final int CAP_CHOWN = 0;
    private static final int CAP_NET_BIND_SERVICE = 10;
    private static final int CAP_NET_ADMIN = 12;
    private static final int CAP_NET_RAW = 13;

    @OnParityHandlers
    void runAsUserRunAsGroupAndSupplementalGroupsSetTheProcessIds(String handler) {
        Pod p = pod("ids", handler);
        String id = p.running(secured(sleeper("ids"), s -> s.setRunAsUser(Int64Value.newBuilder().setValue(1234))
                .setRunAsGroup(Int64Value.newBuilder().setValue(5678)).addSupplementalGroups(1001).addSupplementalGroups(1002)));
        assertEquals("1234\n5678\n", sh(id, "id -u; id -g"));
        Set<String> groups = Set.of(sh(id, "id -G").strip().split(" "));
        assertEquals(Set.of("5678", "1001", "1002"), groups, "supplementary groups of the exec'd process");
        // The init itself, not only exec'd processes: real, effective, saved and fs ids.
        assertEquals("1234\t1234\t1234\t1234", initStatus(id, "Uid"));
        assertEquals("5678\t5678\t5678\t5678", initStatus(id, "Gid"));
        assertEquals(Set.of("5678", "1001", "1002"), Set.of(initStatus(id, "Groups").split("\\s+")));
    }

    @OnParityHandlers
    void runAsUserAloneTakesTheGroupOfThatUserFromTheImagesPasswd(String handler) {
        // busybox image's /etc/passwd: nobody is 65534:65534. Without runAsGroup the gid comes from there.
        Pod p = pod("nobody", handler);
        String id = p.running(secured(sleeper("nobody"), s -> s.setRunAsUser(Int64Value.newBuilder().setValue(65534))));
        assertEquals("65534\n65534\n", sh(id, "id -u; id -g"));
    }

    @OnParityHandlers
    void runAsUsernameIsResolvedInTheImagesPasswd(String handler) {
        Pod p = pod("username", handler);
        String id = p.running(secured(sleeper("username"), s -> s.setRunAsUsername("nobody")));
        assertEquals("65534\n65534\n", sh(id, "id -u; id -g"));
    }

    @OnParityHandlers
    void addedAndDroppedCapabilitiesShowInTheEffectiveSetAndGuardTheirOperations(String handler) throws IOException {
        assumeHostBoundingSetHas(CAP_NET_ADMIN);
        Pod p = pod("caps", handler);
        String plain = p.running(sleeper("plain"));
        String changed = p.running(secured(sleeper("changed"), s -> s.setCapabilities(Capability.newBuilder()
                .addAddCapabilities("NET_ADMIN").addDropCapabilities("CHOWN").addDropCapabilities("NET_RAW"))));
        long plainCaps = Long.parseUnsignedLong(initStatus(plain, "CapEff"), 16);
        long changedCaps = Long.parseUnsignedLong(initStatus(changed, "CapEff"), 16);
        // containerd's default set has CHOWN and NET_RAW but not NET_ADMIN.
        assertTrue(bit(plainCaps, CAP_CHOWN) && bit(plainCaps, CAP_NET_RAW) && !bit(plainCaps, CAP_NET_ADMIN),
                () -> "default CapEff " + Long.toHexString(plainCaps));
        long expected = (plainCaps | 1L << CAP_NET_ADMIN) & ~(1L << CAP_CHOWN) & ~(1L << CAP_NET_RAW);
        assertEquals(Long.toHexString(expected), Long.toHexString(changedCaps), "CapEff with NET_ADMIN added, CHOWN and NET_RAW dropped");

        // The operation CHOWN guards.
        assertEquals(0, execSync(plain, "sh", "-c", "touch /tmp/f && chown 1:1 /tmp/f").getExitCode());
        ExecSyncResponse noChown = execSync(changed, "sh", "-c", "touch /tmp/f && chown 1:1 /tmp/f");
        assertNotEquals(0, noChown.getExitCode(), "chown without CAP_CHOWN");
        assertTrue(noChown.getStderr().toStringUtf8().contains("Operation not permitted"), noChown.getStderr().toStringUtf8());
    }

    @OnParityHandlers
    void addedNetAdminLetsTheContainerChangeALinkOfThePod(String handler) throws IOException {
        assumeHostBoundingSetHas(CAP_NET_ADMIN);
        Pod p = pod("netadmin", handler);
        String plain = p.running(sleeper("plain"));
        String admin = p.running(secured(sleeper("admin"), s -> s.setCapabilities(Capability.newBuilder()
                .addAddCapabilities("NET_ADMIN"))));
        assertNotEquals(0, execSync(plain, "ip", "link", "set", "lo", "mtu", "60000").getExitCode(), "mtu change without NET_ADMIN");
        assertEquals(0, execSync(admin, "ip", "link", "set", "lo", "mtu", "60000").getExitCode(), "mtu change with NET_ADMIN");
    }

    @OnParityHandlers
    void droppingAllCapabilitiesThenAddingOneLeavesExactlyThatOne(String handler) throws IOException {
        assumeHostBoundingSetHas(CAP_NET_BIND_SERVICE);
        Pod p = pod("onecap", handler);
        String id = p.running(secured(sleeper("onecap"), s -> s.setCapabilities(Capability.newBuilder()
                .addDropCapabilities("ALL").addAddCapabilities("NET_BIND_SERVICE"))));
        assertEquals(Long.toHexString(1L << CAP_NET_BIND_SERVICE),
                Long.toHexString(Long.parseUnsignedLong(initStatus(id, "CapEff"), 16)));
        assertEquals(Long.toHexString(1L << CAP_NET_BIND_SERVICE),
                Long.toHexString(Long.parseUnsignedLong(initStatus(id, "CapBnd"), 16)), "bounding set");
    }

    /**
     * A capability the host's bounding set lacks (the first one, by bit; this machine kind lacks CAP_SYS_RESOURCE, see
     * FACTS.md) can be given to no container on the host's kernel, so those handlers must refuse the container rather
     * than run it without it; gVisor's kernel grants it inside the sandbox, where it must then show. Stock says only runc's "unable to apply caps: operation not permitted"; ours names the capability and why
     * (the node's bounding set lacks it). Skipped on a host whose bounding set has every capability.
     */
    @OnParityHandlers
    void addingACapabilityTheHostLacksFailsAndSaysSo(String handler) throws IOException {
        long hostBounding = Long.parseUnsignedLong(hostStatus("CapBnd"), 16);
        int last = Math.min(lastCap(), CAPABILITIES.size() - 1);
        String lacking = null;
        for (int cap = 0; cap <= last && lacking == null; cap++) {
            if (!bit(hostBounding, cap)) {
                lacking = CAPABILITIES.get(cap);
            }
        }
        String reason = "this host's bounding set (CapBnd " + Long.toHexString(hostBounding) + ") has every capability "
                + "up to CAP_" + CAPABILITIES.get(last) + ": none to ask for in vain";
        org.junit.jupiter.api.Assumptions.assumeTrue(lacking != null, reason);
        String name = lacking;
        Pod p = pod("lackcap", handler);
        ContainerConfig c = secured(sleeper("lackcap"), s -> s.setCapabilities(Capability.newBuilder()
                .addAddCapabilities(name)));
        if (handler.equals(RUNSC)) {
            // gVisor's capabilities are its own kernel's, not bounded by the host's: the container gets it
            long caps = Long.parseUnsignedLong(initStatus(p.running(c), "CapEff"), 16);
            assertTrue(bit(caps, CAPABILITIES.indexOf(name)), () -> "CapEff " + Long.toHexString(caps) + " lacks " + name);
            return;
        }
        StatusRuntimeException e = failure(() -> cri.runContainer(p.id, p.config, c));
        String m = String.valueOf(e.getStatus().getDescription());
        if (handler.equals(NodeEnv.KUASAR_HANDLER)) {
            // driver-runc's NamespaceRewriter.checkCapabilities: "... asks for CAP_X, which this node's capability
            // bounding set (CapBnd ...) lacks ..."
            assertTrue(m.contains("CAP_" + name) && m.contains("bounding set"), () -> "error should say why: " + m);
        } else {
            assertTrue(m.contains("unable to apply caps"), () -> "runc's error: " + m);
        }
    }

    @OnParityHandlers
    void privilegedContainerGetsTheHostsBoundingSetAndItsDevices(String handler) throws IOException {
        // Read before the containers exist: what containerd's CRI copies into the privileged one at create.
        List<String> devices = hostOnlyCharDevices();
        org.junit.jupiter.api.Assumptions.assumeFalse(devices.isEmpty(), "this host's /dev has no character device"
                + " beyond those every container gets " + CONTAINER_DEFAULT_DEVICES + ": nothing to tell the two apart");
        Pod p = pod(securedPod(podConfig("priv"), s -> s.setPrivileged(true)), handler);
        String priv = p.running(secured(sleeper("priv"), s -> s.setPrivileged(true)));
        String plain = p.running(sleeper("plain"));
        assertEquals(Long.toHexString(Long.parseUnsignedLong(hostStatus("CapBnd"), 16)),
                Long.toHexString(Long.parseUnsignedLong(initStatus(priv, "CapEff"), 16)), "privileged CapEff = host bounding set");
        assertEquals("0", initStatus(priv, "Seccomp"), "privileged runs unconfined");
        // Host devices appear only in the privileged container (each checked, offenders printed); /sys is
        // writable only there.
        assertEquals("", sh(priv, offenders(devices, "[ -c \"/dev/$d\" ]")),
                "host character devices missing (or not char devices) in the privileged container; host has " + devices);
        // gVisor's kernel implements FUSE itself: its /dev/fuse is in every container, not the host's device
        List<String> notDefault = handler.equals(RUNSC) ? devices.stream().filter(d -> !d.equals("fuse")).toList() : devices;
        assertEquals("", sh(plain, offenders(notDefault, "[ ! -e \"/dev/$d\" ]")),
                "host devices present in the plain container; host has " + devices);
        assertEquals("rw\n", sh(priv, "awk '$2==\"/sys\"{split($4,o,\",\"); print o[1]}' /proc/mounts"));
        assertEquals("ro\n", sh(plain, "awk '$2==\"/sys\"{split($4,o,\",\"); print o[1]}' /proc/mounts"));
    }

    @OnParityHandlers
    void privilegedContainerIsRefusedInAPodThatIsNotPrivileged(String handler) {
        Pod p = pod("unpriv", handler);
        ContainerConfig c = secured(sleeper("priv"), s -> s.setPrivileged(true));
        StatusRuntimeException e = failure(() -> cri.createContainer(p.id, p.config, c));
        assertTrue(e.getMessage().contains("privileged"), e.getMessage());
    }

    @OnParityHandlers
    void seccompRuntimeDefaultFiltersAndUnconfinedDoesNot(String handler) throws IOException {
        Pod p = pod("seccomp", handler);
        String filtered = p.running(secured(sleeper("filtered"), s -> s.setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.RuntimeDefault))));
        String open = p.running(secured(sleeper("open"), s -> s.setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.Unconfined))));
        assertEquals("2", initStatus(filtered, "Seccomp"), "seccomp filter mode");
        assertEquals("0", initStatus(open, "Seccomp"));
        // The filter in action on the container's own process: RuntimeDefault allows unshare(2) only with
        // CAP_SYS_ADMIN, which the default set lacks; a user namespace needs no capability, so Unconfined may make one.
        String script = "unshare -U true; echo rc=$?";
        assertNotEquals("rc=0\n", p.output(secured(container("filtered-init"), s -> s.setSeccomp(SecurityProfile
                .newBuilder().setProfileType(SecurityProfile.ProfileType.RuntimeDefault))), script), "unshare -U under RuntimeDefault");
        String userNs = userNamespacesRefusedBy();
        org.junit.jupiter.api.Assumptions.assumeTrue(userNs == null, () -> "this host refuses user namespaces to"
                + " processes without CAP_SYS_ADMIN (" + userNs + "), so unshare -U fails unconfined too");
        assertEquals("rc=0\n", p.output(secured(container("open-init"), s -> s.setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.Unconfined))), script), "unshare -U unconfined");
    }

    /** The container's profile holds for the processes exec'd into it too, as for its own. */
    @OnParityHandlers
    void seccompProfileOfTheContainerFiltersItsExecdProcesses(String handler) {
        Pod p = pod("seccomp-exec", handler);
        String filtered = p.running(secured(sleeper("filtered"), s -> s.setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.RuntimeDefault))));
        assertEquals("2", sh(filtered, "grep '^Seccomp:' /proc/self/status | cut -f2").strip(), "exec'd process's mode");
        ExecSyncResponse refused = execSync(filtered, "unshare", "-U", "true");
        assertNotEquals(0, refused.getExitCode(), "unshare -U in an exec under RuntimeDefault");
    }

    @OnParityHandlers
    void noNewPrivsIsSetOnlyWhenAsked(String handler) {
        Pod p = pod("nnp", handler);
        String set = p.running(secured(sleeper("set"), s -> s.setNoNewPrivs(true)));
        String unset = p.running(sleeper("unset"));
        assertEquals("1", initStatus(set, "NoNewPrivs"));
        assertEquals("0", initStatus(unset, "NoNewPrivs"));
    }

    @OnParityHandlers
    void readOnlyRootfsRefusesWritesButLeavesShmWritable(String handler) {
        Pod p = pod("rofs", handler);
        String out = p.output(secured(container("rofs"), s -> s.setReadonlyRootfs(true)),
                "touch /rootfile 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm-writable");
        List<String> lines = out.lines().toList();
        assertTrue(lines.get(0).contains("Read-only file system"), out);
        assertEquals(List.of("rc=1", "shm-writable"), lines.subList(1, lines.size()), out);
    }

    /** Linux capability names in bit order (linux/capability.h), without CAP_, as CRI's add_capabilities takes them. */
    private static final List<String> CAPABILITIES = List.of("CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",
            "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST",
            "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
            "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
            "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
            "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE");

    /**
     * Devices every container gets without privilege (the OCI runtime's defaults: null, zero, full, random,
     * urandom, tty, the ptmx link; console for a terminal), so their presence tells nothing.
     */
    private static final Set<String> CONTAINER_DEFAULT_DEVICES = Set.of("null", "zero", "full", "random", "urandom",
            "tty", "ptmx", "console");

    /** The kernel's highest capability number. */
    private static int lastCap() throws IOException {
        return Integer.parseInt(HostTools.procLine(Path.of("/proc/sys/kernel/cap_last_cap")));
    }

    /**
     * Character devices at the top of the host's /dev that a privileged container gets and a plain one does not:
     * containerd's CRI copies the host's devices into a privileged container (oci.HostDevices, which skips
     * "console" and the pts, shm, fd and mqueue directories); links and the defaults are left out.
     */
    private static List<String> hostOnlyCharDevices() throws IOException {
        try (java.util.stream.Stream<Path> dev = Files.list(Path.of("/dev"))) {
            return dev.filter(d -> isCharDevice(d) && !CONTAINER_DEFAULT_DEVICES.contains(d.getFileName().toString()))
                    .map(d -> d.getFileName().toString()).filter(n -> n.matches("[A-Za-z0-9._:+@-]+")).sorted().toList();
        }
    }

    private static boolean isCharDevice(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            return (mode & 0170000) == 0020000; // S_IFCHR
        } catch (IOException e) {
            return false; // gone meanwhile
        }
    }

    /** A script printing each of {@code devices} for which {@code test} (on {@code $d}) fails; silent when all pass. */
    private static String offenders(List<String> devices, String test) {
        return "for d in " + String.join(" ", devices) + "; do " + test + " || echo \"$d\"; done";
    }

    /**
     * Why this host refuses a user namespace to a process without CAP_SYS_ADMIN, or null when it allows it:
     * user.max_user_namespaces 0, or (when the kernel has them) kernel.unprivileged_userns_clone 0 (Debian's patch)
     * or kernel.apparmor_restrict_unprivileged_userns 1 (Ubuntu's).
     */
    private static String userNamespacesRefusedBy() throws IOException {
        if (sysctl("user/max_user_namespaces", 1) <= 0) {
            return "user.max_user_namespaces = 0";
        }
        if (sysctl("kernel/unprivileged_userns_clone", 1) == 0) {
            return "kernel.unprivileged_userns_clone = 0";
        }
        if (sysctl("kernel/apparmor_restrict_unprivileged_userns", 0) == 1) {
            return "kernel.apparmor_restrict_unprivileged_userns = 1";
        }
        return null;
    }

    /** /proc/sys/{@code name} as a number, {@code absent} when this kernel has no such setting. */
    private static long sysctl(String name, long absent) throws IOException {
        Path p = Path.of("/proc/sys", name);
        return Files.exists(p) ? Long.parseLong(HostTools.procLine(p)) : absent;
    }

    /** Skips, saying why, on a host whose bounding set lacks {@code cap}, which the test adds to a container. */
    static void assumeHostBoundingSetHas(int cap) throws IOException {
        long hostBounding = Long.parseUnsignedLong(hostStatus("CapBnd"), 16);
        org.junit.jupiter.api.Assumptions.assumeTrue(bit(hostBounding, cap), () -> "this host's bounding set (CapBnd "
                + Long.toHexString(hostBounding) + ") lacks CAP_" + CAPABILITIES.get(cap) + ", which this test adds");
    }

    private static boolean bit(long caps, int cap) {
        return (caps >>> cap & 1) == 1;
    }

    /** A field of this JVM's /proc/self/status: the host's view (the test runs as root in the host namespaces). */
    private static String hostStatus(String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith(field + ":")) {
                return l.substring(field.length() + 1).strip();
            }
        }
        throw new IllegalStateException("no " + field + " in /proc/self/status");
    }
}
