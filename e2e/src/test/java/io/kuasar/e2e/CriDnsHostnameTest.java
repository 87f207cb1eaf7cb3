package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.kuasar.api.cri.v1.DNSConfig;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The files CRI gives a pod's containers (critest "DNS config", "hostname"): /etc/resolv.conf from the pod's DNS
 * config, the pod's hostname in its UTS namespace and in /etc/hostname, and /etc/hosts.
 */
class CriDnsHostnameTest extends CriParityTestBase {

    @OnParityHandlers
    void dnsConfigOfThePodIsWrittenToResolvConf(String handler) {
        PodSandboxConfig config = podConfig("dns").toBuilder().setDnsConfig(DNSConfig.newBuilder()
                .addServers("10.0.0.10").addServers("10.0.0.11").addSearches("svc.example.test")
                .addSearches("example.test").addOptions("ndots:5").addOptions("timeout:2")).build();
        Pod p = pod(config, handler);
        List<String> lines = p.output(container("dns"), "cat /etc/resolv.conf").lines()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertEquals(List.of("search svc.example.test example.test", "nameserver 10.0.0.10", "nameserver 10.0.0.11",
                "options ndots:5 timeout:2"), lines);
    }

    @OnParityHandlers
    void withoutDnsConfigThePodGetsTheHostsResolvConf(String handler) throws IOException {
        Pod p = pod("hostdns", handler);
        String inside = p.output(container("hostdns"), "cat /etc/resolv.conf");
        assertEquals(Files.readString(Path.of("/etc/resolv.conf")), inside);
    }

    @OnParityHandlers
    void hostnameOfThePodIsTheContainersHostnameAndEtcHostname(String handler) {
        PodSandboxConfig config = podConfig("named").toBuilder().setHostname("pod-host-" + handler).build();
        Pod p = pod(config, handler);
        String host = "pod-host-" + handler;
        assertEquals(host + "\n" + host + "\n", p.output(container("named"), "hostname; cat /etc/hostname"));
        // A second container of the pod shares the name (same UTS namespace), and it is not the node's.
        String second = p.running(sleeper("second"));
        assertEquals(host, sh(second, "hostname").strip());
        assertFalse(inHostNamespace(second, "uts"), "uts is the pod's own, not the host's");
    }

    @OnParityHandlers
    void etcHostsIsTheNodesHostsFile(String handler) throws IOException {
        // containerd copies the node's /etc/hosts for the pod (the kubelet would manage it otherwise).
        Pod p = pod("hosts", handler);
        assertEquals(Files.readString(Path.of("/etc/hosts")), p.output(container("hosts"), "cat /etc/hosts"));
    }
}
