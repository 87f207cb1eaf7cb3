package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.kuasar.api.cri.v1.Capability;
import io.kuasar.api.cri.v1.ContainerConfig;
import io.kuasar.api.cri.v1.ContainerFilter;
import io.kuasar.api.cri.v1.ListContainersRequest;
import io.kuasar.api.cri.v1.SecurityProfile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Seccomp profiles of the node's own (critest "SecurityContext", Localhost profiles): CRI's {@code SecurityProfile}
 * of type Localhost names a JSON file on the node, which containerd's CRI reads at CreateContainer into the spec's
 * {@code linux.seccomp} (contrib/seccomp WithProfile); each handler must then enforce that filter on the container's
 * process, gVisor with {@code --oci-seccomp}, a VM pod by the guest's runc.
 *
 * <p>The profiles allow everything but a few calls, which fail with an errno: EPERM, the default of SCMP_ACT_ERRNO,
 * with a container that differs only in having no profile as the witness that the profile made the difference; a
 * chosen errno (errnoRet) in one test. containerd 2.1 applies a pod-level profile
 * ({@code LinuxSandboxSecurityContext.seccomp}) to the pause container only (podsandbox/sandbox_run_linux.go);
 * kubelet copies it into each container's own, so only container profiles are tested.
 */
class CriSeccompProfileTest extends CriParityTestBase {
    private static final int CAP_SYS_ADMIN = 21;
    private static final String EPERM = "Operation not permitted";

    @OnParityHandlers
    void localhostProfileBlocksItsCallsAndLetsTheOthersThrough(String handler) throws IOException {
        Path profile = profileBlocking("no-mkdir", null, "mkdir", "mkdirat");
        Pod p = pod("localhost", handler);
        String script = "grep '^Seccomp:' /proc/self/status; mkdir /tmp/d 2>&1; echo mkdir=$?; touch /tmp/f && echo touched";
        String blocked = p.output(withProfile(container("no-mkdir"), profile), script);
        List<String> lines = blocked.lines().toList();
        assertEquals(4, lines.size(), blocked);
        assertEquals("Seccomp:\t2", lines.get(0), "filter mode");
        assertTrue(lines.get(1).contains(EPERM), () -> "mkdir under the profile: " + blocked);
        assertEquals(List.of("mkdir=1", "touched"), lines.subList(2, 4), blocked);
        assertEquals("Seccomp:\t0\nmkdir=0\ntouched\n", p.output(unconfined(container("plain")), script), "without a profile");
    }

    /** The errno a blocked call gets is the profile's errnoRet when it names one (EOPNOTSUPP here), not EPERM. */
    @OnParityHandlers
    void localhostProfileErrnoRetIsWhatTheBlockedCallReturns(String handler) throws IOException {
        Path profile = profileBlocking("mkdir-eopnotsupp", 95, "mkdir", "mkdirat");
        Pod p = pod("errnoret", handler);
        String out = p.output(withProfile(container("eopnotsupp"), profile), "mkdir /tmp/d 2>&1; echo mkdir=$?");
        assertTrue(out.contains("Operation not supported") && out.endsWith("mkdir=1\n"), () -> "mkdir: " + out);
    }

    @OnParityHandlers
    void localhostProfileThatIsMissingFailsCreateContainerNamingTheFile(String handler) {
        Path missing = logRoot.resolve("no-such-profile.json");
        Pod p = pod("missing", handler);
        StatusRuntimeException e = failure(() -> cri.createContainer(p.id, p.config,
                withProfile(sleeper("missing"), missing)));
        String m = String.valueOf(e.getStatus().getDescription());
        // containerd's CRI: cannot load seccomp profile "PATH": open PATH: no such file or directory
        assertTrue(m.contains(missing.toString()) && m.contains("seccomp"), () -> "error should name the file: " + m);
        assertEquals(List.of(), cri.runtime().listContainers(ListContainersRequest.newBuilder().setFilter(
                ContainerFilter.newBuilder().setPodSandboxId(p.id)).build()).getContainersList(), "nothing created");
    }

    /**
     * CAP_SYS_ADMIN lets a container set the hostname of its UTS namespace (the pod's); a profile blocking
     * sethostname(2) takes that away again, whatever the capabilities.
     */
    @OnParityHandlers
    void profileBlockingSethostnameStopsHostnameDespiteSysAdmin(String handler) throws IOException {
        CriSecurityContextTest.assumeHostBoundingSetHas(CAP_SYS_ADMIN);
        Path profile = profileBlocking("no-sethostname", null, "sethostname");
        Pod p = pod("sethostname", handler);
        String script = "hostname renamed 2>&1; echo hostname=$?";
        String blocked = p.output(withProfile(sysAdmin(container("blocked")), profile), script);
        assertTrue(blocked.contains(EPERM) && blocked.endsWith("hostname=1\n"), () -> "hostname under the profile: " + blocked);
        assertEquals("hostname=0\n", p.output(unconfined(sysAdmin(container("allowed"))), script),
                "hostname with CAP_SYS_ADMIN and no profile");
    }

    private static ContainerConfig sysAdmin(ContainerConfig c) {
        return secured(c, s -> s.setCapabilities(Capability.newBuilder().addAddCapabilities("SYS_ADMIN")));
    }

    private static ContainerConfig withProfile(ContainerConfig c, Path profile) {
        return secured(c, s -> s.setSeccomp(SecurityProfile.newBuilder()
                .setProfileType(SecurityProfile.ProfileType.Localhost).setLocalhostRef(profile.toString())));
    }

    /** No seccomp filter: what the profile of the same test's other container is compared against. */
    private static ContainerConfig unconfined(ContainerConfig c) {
        return secured(c, s -> s.setSeccomp(SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.Unconfined)));
    }

    /**
     * An OCI seccomp profile in this test's temp dir (on the node, where containerd reads it) allowing every call
     * but {@code syscalls}, which fail with {@code errno}, or with SCMP_ACT_ERRNO's default EPERM when null.
     */
    private Path profileBlocking(String name, Integer errno, String... syscalls) throws IOException {
        String names = Stream.of(syscalls).map(s -> "\"" + s + "\"").collect(Collectors.joining(","));
        Path file = hostDir("seccomp").resolve(name + ".json");
        Files.writeString(file, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[" + names
                + "],\"action\":\"SCMP_ACT_ERRNO\"" + (errno == null ? "" : ",\"errnoRet\":" + errno) + "}]}");
        return file;
    }
}
