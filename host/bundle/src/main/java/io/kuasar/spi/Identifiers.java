package io.kuasar.spi;

import java.util.regex.Pattern;

/**
 * containerd's identifier rule: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 76
 * characters. Checked before any file is touched, so a hostile id cannot name a path.
 */
public final class Identifiers {
    public static final int MAX_LENGTH = 76;
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*");

    private Identifiers() {
    }

    /** Returns {@code id} if valid, else throws INVALID_ARGUMENT naming {@code kind} and the problem. */
    public static String validate(String kind, String id) throws SandboxException {
        if (id == null || id.isEmpty()) {
            throw SandboxException.invalid(kind + " id must not be empty");
        }
        if (id.length() > MAX_LENGTH) {
            throw SandboxException.invalid(kind + " id \"" + shorten(id) + "\" is longer than " + MAX_LENGTH + " characters");
        }
        if (!VALID.matcher(id).matches()) {
            throw SandboxException.invalid(kind + " id \"" + shorten(id)
                    + "\" is invalid: use letters, digits, '.', '_' and '-', starting and ending with a letter or digit");
        }
        return id;
    }

    private static String shorten(String id) {
        String printable = id.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() > 80 ? printable.substring(0, 80) + "..." : printable;
    }
}
