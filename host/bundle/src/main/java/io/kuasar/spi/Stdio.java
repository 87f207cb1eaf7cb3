package io.kuasar.spi;

/**
 * Where a process's standard streams go: paths of FIFOs (or other URIs) containerd made; empty when not wanted.
 */
public record Stdio(String stdin, String stdout, String stderr, boolean terminal) {
    public static final Stdio NONE = new Stdio("", "", "", false);

    public Stdio {
        stdin = stdin == null ? "" : stdin;
        stdout = stdout == null ? "" : stdout;
        stderr = stderr == null ? "" : stderr;
    }
}
