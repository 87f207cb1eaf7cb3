package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The forward NIC's QEMU arguments, the monitor commands for forwards and the reading of QEMU's answers. */
class PortForwardsTest {
    /** What QEMU 7.2 printed for {@code info usernet} with one forward and one forwarded connection open. */
    private static final String INFO_USERNET = "Hub -1 (fwd):\r\n"
            + "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ\r\n"
            + "  TCP[HOST_FORWARD]  12       127.0.0.1  8080       192.0.2.2  8080     0     0\r\n"
            + "  TCP[ESTABLISHED]   14       127.0.0.1 41234       192.0.2.2  8080     0     0\r\n"
            + "  TCP[HOST_FORWARD]  13       127.0.0.1    80       192.0.2.2    80     0     0\r\n";

    @Test
    void forwardsListenOnLoopbackAndReachTheSamePortOfTheGuestsForwardAddress() {
        assertEquals("hostfwd_add fwd tcp:127.0.0.1:8080-192.0.2.2:8080", PortForwards.add(8080));
        assertEquals("hostfwd_remove fwd tcp:127.0.0.1:8080", PortForwards.remove(8080));
        assertThrows(IllegalArgumentException.class, () -> PortForwards.add(0));
        assertThrows(IllegalArgumentException.class, () -> PortForwards.remove(65536));
    }

    /** The NIC cannot reach out: restrict=on, no IPv6, and no guestfwd (the guest's only way to the host side). */
    @Test
    void theForwardNicIsRestrictedAndHasNoGuestForwards() {
        List<String> argv = PortForwards.qemuArguments();
        String netdev = argv.get(argv.indexOf("-netdev") + 1);
        assertTrue(netdev.startsWith("user,id=fwd,restrict=on,ipv6=off,net=192.0.2.0/30,"), netdev);
        assertTrue(!netdev.contains("guestfwd") && !netdev.contains("hostfwd") && !netdev.contains("smb")
                && !netdev.contains("tftp"), netdev);
        assertEquals("virtio-net-pci,netdev=fwd,mac=" + PortForwards.MAC, argv.get(argv.indexOf("-device") + 1));
    }

    @Test
    void readsTheForwardsOfItsNetdevOnlyNotTheForwardedConnections() throws IOException {
        assertEquals(Set.of(80, 8080), PortForwards.forwarded(INFO_USERNET
                + "Hub 0 (other):\r\n"
                + "  TCP[HOST_FORWARD]  15       127.0.0.1  9090       10.0.2.15  9090     0     0\r\n"));
        assertEquals(Set.of(), PortForwards.forwarded("Hub -1 (fwd):\r\n  Protocol[State]    FD  Source Address  Port"
                + "   Dest. Address  Port RecvQ SendQ\r\n"));
    }

    @Test
    void aVmWithoutTheForwardNetdevSaysSo() {
        assertThrows(PortForwards.NoForwardNic.class, () -> PortForwards.forwarded(""));
        assertThrows(PortForwards.NoForwardNic.class, () -> PortForwards.checkAnswer(PortForwards.add(80),
                "unrecognized netdev id 'fwd'\r\n"));
    }

    @Test
    void qemusAnswersTellSuccessFromRefusal() throws IOException {
        PortForwards.checkAnswer(PortForwards.add(80), "");
        PortForwards.checkAnswer(PortForwards.remove(80), "host forwarding rule for tcp:127.0.0.1:80 removed\r\n");
        IOException busy = assertThrows(IOException.class, () -> PortForwards.checkAnswer(PortForwards.add(80),
                "Could not set up host forwarding rule 'tcp:127.0.0.1:80-192.0.2.2:80'\r\n"));
        assertTrue(busy.getMessage().contains("hostfwd_add fwd tcp:127.0.0.1:80") && busy.getMessage().contains(
                "Could not set up"), busy.getMessage());
        assertThrows(IOException.class, () -> PortForwards.checkAnswer(PortForwards.remove(80),
                "host forwarding rule for tcp:127.0.0.1:80 not found\r\n"));
    }

    /** The guest's list is not trusted: out-of-range ports go, duplicates fold, and at most MAX_PORTS are kept. */
    @Test
    void theGuestsReportIsBoundedAndCleaned() {
        assertEquals(Set.of(1, 80, 65535), PortForwards.wanted(List.of(0L, 80L, 80L, 1L, 65535L, 65536L, -1L)));
        List<Long> many = new ArrayList<>();
        for (long p = 2000; p > 1000; p--) {
            many.add(p);
        }
        Set<Integer> kept = PortForwards.wanted(many);
        assertEquals(PortForwards.MAX_PORTS, kept.size());
        assertTrue(kept.contains(1001) && !kept.contains(1001 + PortForwards.MAX_PORTS), kept::toString);
    }
}
