package io.kuasar.driver.kit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kuasar.spi.SandboxException;
import io.kuasar.spi.Stdio;
import org.junit.jupiter.api.Test;

/** containerd's stdio strings: what becomes a path, what is refused and with which code. */
class StdioRedirectsTest {
    private static final String WHO = "the test driver";

    @Test
    void stdioPaths() throws Exception {
        assertEquals("/run/fifo", StdioRedirects.path("/run/fifo", "stdout", WHO));
        assertEquals("/var/log/x", StdioRedirects.path("file:///var/log/x", "stdout", WHO));
        assertEquals("/run/f", StdioRedirects.path("fifo:///run/f", "stdout", WHO));
        assertEquals(null, StdioRedirects.path("", "stdout", WHO));
        assertEquals(null, StdioRedirects.path(null, "stdout", WHO));
        SandboxException binary = assertThrows(SandboxException.class,
                () -> StdioRedirects.path("binary:///bin/log?x=1", "stdout", WHO));
        assertEquals(SandboxException.Code.UNIMPLEMENTED, binary.code());
        assertTrue(binary.getMessage().contains(WHO), binary.getMessage());
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, assertThrows(SandboxException.class,
                () -> StdioRedirects.path("http://host/x", "stdout", WHO)).code());
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, assertThrows(SandboxException.class,
                () -> StdioRedirects.path("a b:", "stdout", WHO)).code());
    }

    @Test
    void terminalsAreRefused() {
        assertEquals(SandboxException.Code.UNIMPLEMENTED, assertThrows(SandboxException.class,
                () -> StdioRedirects.of(new Stdio("", "/a", "", true), WHO)).code());
    }

    @Test
    void redirects() throws Exception {
        StdioRedirects r = StdioRedirects.of(new Stdio("", "/run/out", "", false), WHO);
        assertEquals(ProcessBuilder.Redirect.Type.READ, r.in().type());
        assertEquals(Commands.DEV_NULL, r.in().file());
        assertEquals(ProcessBuilder.Redirect.Type.APPEND, r.out().type());
        assertEquals("/run/out", r.out().file().getPath());
        assertEquals(ProcessBuilder.Redirect.DISCARD, r.err());
        assertEquals(StdioRedirects.NONE, StdioRedirects.of(Stdio.NONE, WHO));
    }
}
