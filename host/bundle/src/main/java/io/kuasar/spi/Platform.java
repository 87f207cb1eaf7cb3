package io.kuasar.spi;

/** The OS/architecture containers of a sandbox run on. */
public record Platform(String os, String architecture, String variant) {
    /** The platform of this host's JVM, in OCI's naming. */
    public static final Platform HOST = new Platform("linux", ociArch(System.getProperty("os.arch")), "");

    private static String ociArch(String javaArch) {
        return switch (javaArch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> javaArch;
        };
    }
}
