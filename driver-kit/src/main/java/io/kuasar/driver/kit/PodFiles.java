package io.kuasar.driver.kit;

import io.kuasar.spi.PodConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;

/**
 * The files a pod's containers get from the pod rather than their image: {@code /etc/hostname}, {@code /etc/hosts}
 * and {@code /etc/resolv.conf}. containerd's CRI writes and binds them only for the pods its own podsandbox
 * controller makes (pause container), never for a remote sandboxer's, so a driver makes them itself, the same way:
 * the pod's hostname (else the node's), a copy of the node's hosts file, and resolv.conf from the pod's DNS config
 * (else a copy of the node's).
 */
public final class PodFiles {
    public static final String HOSTNAME = "hostname";
    public static final String HOSTS = "hosts";
    public static final String RESOLV = "resolv.conf";
    /** Container path to the file name in the pod's directory. */
    private static final Map<String, String> IN_CONTAINER = Map.of("/etc/hostname", HOSTNAME, "/etc/hosts", HOSTS,
            "/etc/resolv.conf", RESOLV);

    private PodFiles() {
    }

    /** Writes the three files into {@code dir} (which exists), readable by every user of the container. */
    public static void write(Path dir, String podHostname, PodConfig pod) throws IOException {
        String hostname = podHostname == null || podHostname.isEmpty()
                ? Files.readString(Path.of("/proc/sys/kernel/hostname")).strip() : podHostname;
        writeFile(dir.resolve(HOSTNAME), (hostname + "\n").getBytes(StandardCharsets.UTF_8));
        writeFile(dir.resolve(HOSTS), readOrEmpty(Path.of("/etc/hosts")));
        String dns = pod == null ? "" : resolvConf(pod);
        writeFile(dir.resolve(RESOLV), dns.isEmpty() ? readOrEmpty(Path.of("/etc/resolv.conf"))
                : dns.getBytes(StandardCharsets.UTF_8));
    }

    /** resolv.conf as CRI writes it from the pod's DNS config; empty when the pod has none. */
    static String resolvConf(PodConfig pod) {
        StringBuilder dns = new StringBuilder();
        if (!pod.dnsSearches().isEmpty()) {
            dns.append("search ").append(String.join(" ", pod.dnsSearches())).append('\n');
        }
        pod.dnsServers().forEach(server -> dns.append("nameserver ").append(server).append('\n'));
        if (!pod.dnsOptions().isEmpty()) {
            dns.append("options ").append(String.join(" ", pod.dnsOptions())).append('\n');
        }
        return dns.toString();
    }

    /** Container path to the file in {@code dir} that provides it, for those of the files that exist there. */
    public static Map<String, String> paths(Path dir) {
        Map<String, String> paths = new TreeMap<>();
        for (Map.Entry<String, String> f : IN_CONTAINER.entrySet()) {
            if (Files.isRegularFile(dir.resolve(f.getValue()))) {
                paths.put(f.getKey(), dir.resolve(f.getValue()).toString());
            }
        }
        return paths;
    }

    private static void writeFile(Path f, byte[] content) throws IOException {
        Files.write(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
    }

    private static byte[] readOrEmpty(Path f) throws IOException {
        return Files.isRegularFile(f) ? Files.readAllBytes(f) : new byte[0];
    }
}
