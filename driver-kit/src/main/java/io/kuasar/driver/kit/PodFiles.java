package io.kuasar.driver.kit;

import io.kuasar.spi.PodConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The files a pause-based pod gets from CRI's podsandbox controller, which containerd leaves to a sandboxer to make:
 * containers' specs bind them at /etc/hostname, /etc/hosts and /etc/resolv.conf.
 */
public final class PodFiles {
    public static final String HOSTNAME = "hostname";
    public static final String HOSTS = "hosts";
    public static final String RESOLV = "resolv.conf";

    private PodFiles() {
    }

    /**
     * File name to content, made as CRI makes them: {@code hostname} (the pod's, else the node's), {@code hosts} (a
     * copy of the node's), {@code resolv.conf} (from the pod's DNS config, else a copy of the node's).
     */
    public static Map<String, byte[]> contents(String podHostname, PodConfig pod) throws IOException {
        String hostname = podHostname == null || podHostname.isEmpty()
                ? Files.readString(Path.of("/proc/sys/kernel/hostname")).strip() : podHostname;
        StringBuilder dns = new StringBuilder();
        if (pod != null && !pod.dnsSearches().isEmpty()) {
            dns.append("search ").append(String.join(" ", pod.dnsSearches())).append('\n');
        }
        if (pod != null) {
            pod.dnsServers().forEach(server -> dns.append("nameserver ").append(server).append('\n'));
        }
        if (pod != null && !pod.dnsOptions().isEmpty()) {
            dns.append("options ").append(String.join(" ", pod.dnsOptions())).append('\n');
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(HOSTNAME, (hostname + "\n").getBytes(StandardCharsets.UTF_8));
        files.put(HOSTS, readOrEmpty(Path.of("/etc/hosts")));
        files.put(RESOLV, dns.length() > 0 ? dns.toString().getBytes(StandardCharsets.UTF_8)
                : readOrEmpty(Path.of("/etc/resolv.conf")));
        return files;
    }

    private static byte[] readOrEmpty(Path f) throws IOException {
        try {
            return Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return new byte[0];
        }
    }
}
