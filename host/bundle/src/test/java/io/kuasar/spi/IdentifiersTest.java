package io.kuasar.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdentifiersTest {
    @ParameterizedTest
    @ValueSource(strings = {"a", "pod-1", "f212ccac72d8634d32e5a3619516203c4cd1941fc75278f9c25e2a75d2ac3ec5", "a.b_c-d"})
    void acceptsContainerdIdentifiers(String id) throws SandboxException {
        assertEquals(id, Identifiers.validate("sandbox", id));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "../../etc", "a/b", "-lead", "trail-", "a..b", "sp ace", "new\nline", "ünï"})
    void rejectsAnythingElseNamingTheProblem(String id) {
        SandboxException e = assertThrows(SandboxException.class, () -> Identifiers.validate("sandbox", id));
        assertEquals(SandboxException.Code.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().startsWith("sandbox id"), e.getMessage());
    }

    @Test
    void rejectsMoreThan76Characters() throws SandboxException {
        Identifiers.validate("container", "a".repeat(76));
        SandboxException e = assertThrows(SandboxException.class, () -> Identifiers.validate("container", "a".repeat(77)));
        assertTrue(e.getMessage().contains("longer than 76"), e.getMessage());
    }
}
