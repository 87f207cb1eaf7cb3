package io.kuasar.driver.vmm;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Port-forward into a VM pod. containerd's CRI forwards by dialling {@code localhost:PORT} in the pod's network
 * namespace, where QEMU runs but nothing else listens: the pod's address belongs to the guest. So every VM with a NIC
 * has a second one on QEMU's user-mode network, {@code restrict=on} (the guest reaches nothing through it: no host, no
 * outside, no DNS), and for each port the pod listens on, a QEMU host forward from {@code 127.0.0.1:PORT} in the
 * pod's namespace to the guest's address on that NIC. The guest has that address and no route beyond its /30.
 *
 * <p>This class holds the NIC's fixed settings and QEMU's human-monitor commands for the forwards (sent through QMP
 * {@code human-monitor-command}: QEMU 7.2 has no QMP command for them), and reads their answers.
 */
final class PortForwards {
    /** The user-mode netdev's id. */
    static final String NETDEV = "fwd";
    /** The forward NIC's MAC; the agent finds the interface by it. */
    static final String MAC = "52:54:00:4b:50:46";
    /** TEST-NET-1 (RFC 5737): never a pod's or a node's network, so it cannot shadow a route of the pod's. */
    static final String HOST_ADDRESS = "192.0.2.1";
    static final String GUEST_ADDRESS = "192.0.2.2";
    static final String GUEST_CIDR = GUEST_ADDRESS + "/30";
    /** Where forwards listen: loopback of QEMU's network namespace (the pod's), never a guest-chosen address. */
    static final String LISTEN_ADDRESS = "127.0.0.1";
    /** Forwards one VM may have: each is a listening socket and a QMP round in QEMU, the guest chooses the ports. */
    static final int MAX_PORTS = 64;

    /** The VM's QEMU has no forward netdev (started by a driver before port-forward): nothing can be forwarded. */
    static final class NoForwardNic extends IOException {
        private static final long serialVersionUID = 1L;

        NoForwardNic(String message) {
            super(message);
        }
    }

    private PortForwards() {
    }

    /** QEMU's arguments for the forward NIC; after the pod NIC's, so the guest names it eth1. */
    static List<String> qemuArguments() {
        return List.of("-netdev", "user,id=" + NETDEV + ",restrict=on,ipv6=off,net=192.0.2.0/30,host=" + HOST_ADDRESS
                + ",dhcpstart=" + GUEST_ADDRESS + ",dns=192.0.2.3",
                "-device", "virtio-net-pci,netdev=" + NETDEV + ",mac=" + MAC);
    }

    static String add(int port) {
        return "hostfwd_add " + NETDEV + " tcp:" + LISTEN_ADDRESS + ":" + valid(port) + "-" + GUEST_ADDRESS + ":"
                + port;
    }

    static String remove(int port) {
        return "hostfwd_remove " + NETDEV + " tcp:" + LISTEN_ADDRESS + ":" + valid(port);
    }

    private static int valid(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is not a TCP port (1-65535)");
        }
        return port;
    }

    /**
     * Checks the monitor's answer to {@link #add} or {@link #remove}: QEMU answers an added forward with nothing and
     * a removed one with "... removed"; anything else is its complaint, thrown with the command.
     */
    static void checkAnswer(String command, String answer) throws IOException {
        String a = answer.strip();
        if (a.contains("unrecognized netdev id")) {
            throw new NoForwardNic("QEMU has no netdev " + NETDEV + " (a VM started before port-forward): " + a);
        }
        boolean ok = command.startsWith("hostfwd_add") ? a.isEmpty() : a.endsWith("removed");
        if (!ok) {
            throw new IOException("QEMU refused '" + command + "': " + a);
        }
    }

    /**
     * The ports forwarded from {@link #LISTEN_ADDRESS}, read from the monitor's {@code info usernet}: the table of
     * the section of netdev {@link #NETDEV}, rows {@code TCP[HOST_FORWARD] FD SRC SPORT DST DPORT RECVQ SENDQ}.
     */
    static Set<Integer> forwarded(String infoUsernet) throws IOException {
        Set<Integer> ports = new TreeSet<>();
        boolean ours = false;
        boolean any = false;
        for (String line : infoUsernet.split("\r?\n")) {
            String t = line.strip();
            if (t.startsWith("Hub ")) {
                ours = t.endsWith("(" + NETDEV + "):");
                any |= ours;
                continue;
            }
            String[] f = t.split("\\s+");
            if (ours && f.length >= 6 && f[0].equals("TCP[HOST_FORWARD]") && f[2].equals(LISTEN_ADDRESS)) {
                try {
                    ports.add(Integer.parseInt(f[3]));
                } catch (NumberFormatException e) {
                    throw new IOException("QEMU's info usernet has a forward without a port: " + t, e);
                }
            }
        }
        if (!any) {
            throw new NoForwardNic("QEMU has no netdev " + NETDEV + " (a VM started before port-forward)");
        }
        return ports;
    }

    /**
     * The ports to forward from what the agent reported: TCP ports only, at most {@link #MAX_PORTS} (the lowest;
     * the guest is not trusted to keep its list short), refusing nothing else since any port is the pod's own.
     */
    static Set<Integer> wanted(List<Long> reported) {
        TreeSet<Integer> ports = new TreeSet<>();
        for (long p : reported) {
            if (p >= 1 && p <= 65535) {
                ports.add((int) p);
            }
        }
        while (ports.size() > MAX_PORTS) {
            ports.pollLast();
        }
        return ports;
    }
}
