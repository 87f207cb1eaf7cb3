package io.kuasar.driver.vmm;

import io.kuasar.driver.kit.Commands;
import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Hands the pod's CNI interface to the guest: in the pod's network namespace a tap device for QEMU, and tc rules
 * that redirect every frame arriving on the CNI veth ({@code eth0}) to the tap and back. The guest's NIC gets the
 * veth's MAC and the agent gives it the veth's address and default route, so the pod IP belongs to the guest and
 * neighbours see the same MAC as before. All commands of a step run in one {@code nsenter ... sh}, since each
 * process costs milliseconds.
 */
final class PodNetwork {
    static final String TAP = "tap0";
    static final String VETH = "eth0";
    private static final Pattern ADDR = Pattern.compile("inet (\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+)");
    private static final Pattern GATEWAY = Pattern.compile("default via (\\d+\\.\\d+\\.\\d+\\.\\d+)");
    private static final Pattern MAC = Pattern.compile("link/ether ([0-9a-f:]{17})");

    /** What the guest takes over: the veth's address (CIDR), gateway and MAC. */
    record Attachment(String address, String gateway, String mac) {
    }

    private PodNetwork() {
    }

    private static String inNetns(String netns, String script) throws IOException {
        return Commands.run(List.of("nsenter", "--net=" + netns, "--", "sh", "-ec", script), 30);
    }

    /** Reads the veth's settings and plumbs the tap; returns null when the namespace has no IPv4 veth. */
    static Attachment attach(String netns) throws IOException {
        String info = inNetns(netns, "ip -o -4 addr show dev " + VETH + "; ip -4 route show default; ip -o link show dev "
                + VETH);
        Matcher a = ADDR.matcher(info);
        Matcher m = MAC.matcher(info);
        if (!a.find() || !m.find()) {
            return null;
        }
        Matcher g = GATEWAY.matcher(info);
        String gateway = g.find() ? g.group(1) : "";
        inNetns(netns, String.join("\n",
                "ip tuntap add dev " + TAP + " mode tap",
                "ip link set dev " + TAP + " mtu $(cat /sys/class/net/" + VETH + "/mtu 2>/dev/null || echo 1500) up",
                "tc qdisc add dev " + VETH + " ingress",
                "tc filter add dev " + VETH + " parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev " + TAP,
                "tc qdisc add dev " + TAP + " ingress",
                "tc filter add dev " + TAP + " parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev " + VETH,
                // the namespace's own stack must not answer for the address the guest now owns
                "ip addr flush dev " + VETH));
        return new Attachment(a.group(1), gateway, m.group(1));
    }

    /** Removes the tap and the redirects; a namespace already gone (CRI removed it) has nothing left. */
    static void detach(String netns) {
        if (netns.isEmpty() || !new java.io.File(netns).exists()) {
            return;
        }
        try {
            inNetns(netns, "ip link del " + TAP + " 2>/dev/null || true; tc qdisc del dev " + VETH
                    + " ingress 2>/dev/null || true");
        } catch (IOException ignored) {
            // the namespace went away meanwhile: with it the tap
        }
    }
}
