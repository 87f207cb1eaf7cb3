package io.kuasar.host.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AdminProtocolTest {

    @Test
    void parsesEveryCommandWithItsArguments() {
        assertEquals(new AdminProtocol.Request("drivers", List.of()), AdminProtocol.parse("drivers"));
        assertEquals(new AdminProtocol.Request("sandboxes", List.of()), AdminProtocol.parse("  sandboxes \t"));
        assertEquals(List.of("file:/x/d.jar"), AdminProtocol.parse("install file:/x/d.jar").args());
        AdminProtocol.Request up = AdminProtocol.parse("upgrade runc /tmp/driver-runc-0.1.2.jar");
        assertEquals("upgrade", up.command());
        assertEquals(List.of("runc", "/tmp/driver-runc-0.1.2.jar"), up.args());
        assertEquals(List.of("runc"), AdminProtocol.parse("rollback runc").args());
        assertFalse(AdminProtocol.parse("remove runc").force());
        assertTrue(AdminProtocol.parse("remove runc --force").force());
    }

    @Test
    void trustInspectAndForcedInstallsAndUpgradesParse() {
        assertEquals(List.of("list"), AdminProtocol.parse("trust list").args());
        assertEquals(List.of("add", "/a.crt", "acme"), AdminProtocol.parse("trust add /a.crt acme").args());
        assertEquals(List.of("remove", "acme"), AdminProtocol.parse("trust remove acme").args());
        assertEquals(List.of("/a.jar"), AdminProtocol.parse("inspect /a.jar").args());
        assertTrue(AdminProtocol.parse("install /a.jar --force").force());
        assertFalse(AdminProtocol.parse("install /a.jar").force());
        assertTrue(AdminProtocol.parse("upgrade runc /a.jar --force").force());
        assertFalse(AdminProtocol.parse("upgrade runc /a.jar").force());
        for (String bad : List.of("trust", "trust add", "trust frob", "trust list x", "trust remove", "inspect",
                "install /a.jar --forse", "upgrade runc /a.jar --now")) {
            assertThrows(IllegalArgumentException.class, () -> AdminProtocol.parse(bad), bad);
        }
    }

    @Test
    void quotedWordsKeepSpacesQuotesAndBackslashes() {
        assertEquals(List.of("upgrade", "runc", "/tmp/a dir/d \"1\".jar"),
                AdminProtocol.split("upgrade runc \"/tmp/a dir/d \\\"1\\\".jar\""));
        assertEquals(List.of("install", ""), AdminProtocol.split("install \"\""));
        assertEquals(List.of("a\\b"), AdminProtocol.split("\"a\\\\b\""));
    }

    @Test
    void aRequestLineReadsBackAsTheSameRequest() {
        for (String path : List.of("/plain.jar", "/with space.jar", "/q\"uote.jar", "/back\\slash.jar", "/t\tab.jar")) {
            AdminProtocol.Request r = AdminProtocol.request(List.of("upgrade", "runc", path));
            assertEquals(r, AdminProtocol.parse(r.toLine()), r.toLine());
        }
        assertEquals("remove runc --force", AdminProtocol.request(List.of("remove", "runc", "--force")).toLine());
    }

    @Test
    void refusesUnknownCommandsAndWrongArgumentsSayingTheUsage() {
        for (String bad : List.of("", "   ", "frobnicate", "drivers extra", "install", "upgrade runc",
                "upgrade runc a b", "rollback", "remove", "remove runc --forse", "remove --force",
                "remove runc --force more", "upgrade \"\" x")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AdminProtocol.parse(bad),
                    bad);
            assertTrue(e.getMessage().contains("usage: "), e.getMessage());
        }
    }

    @Test
    void refusesBrokenLines() {
        assertThrows(IllegalArgumentException.class, () -> AdminProtocol.parse("install \"/open"));
        assertThrows(IllegalArgumentException.class, () -> AdminProtocol.parse("install \"/x\\"));
        assertThrows(IllegalArgumentException.class, () -> AdminProtocol.parse("install /x\0y"));
    }

    @Test
    void errorsAndTextStayOnOneLine() {
        assertEquals("ERR driver runc has 2 sandbox(es); stop them", AdminProtocol.error(
                "driver runc has 2 sandbox(es)\n  stop them\n"));
        assertEquals("ERR failed", AdminProtocol.error(null));
        assertEquals("a b", AdminProtocol.textLine("a\nb"));
    }
}
