package io.kuasar.packaging;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The package's node run as systemd would run kuasar.service, from a {@code dpkg -x} tree with the package's paths
 * moved below it ({@link PathMap}): the unit's RuntimeDirectory and StateDirectory made with their modes, its
 * WorkingDirectory, a clean environment holding only systemd's PATH and the unit's Environment=, and exactly its
 * ExecStart. The files that command line names (the JVM's argfile) and the CLI wrapper get the same path moves.
 */
final class UnitNode implements AutoCloseable {
    /** The PATH systemd gives a system service. */
    static final String SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private final Path root;
    private final PathMap paths;
    private final ServiceUnit unit;
    private final Path log;
    private Process keeper;

    UnitNode(Path root, PathMap paths, Path log) throws IOException {
        this.root = root;
        this.paths = paths;
        this.log = log;
        this.unit = ServiceUnit.read(root.resolve("lib/systemd/system/kuasar.service"));
    }

    /** Starts the keeper with the unit's command line; returns once the node serves containerd's socket. */
    void start(Duration within) throws IOException, InterruptedException {
        makeDirectories();
        ProcessBuilder pb = new ProcessBuilder(prepareCommand()).directory(paths.path(unit.one("Service.WorkingDirectory")).toFile())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().clear();
        pb.environment().put("PATH", SYSTEMD_PATH);
        pb.environment().putAll(unit.environment());
        keeper = pb.start();
        awaitServing(within);
    }

    /**
     * The unit with the package's paths moved, for a real systemd to run (which makes its directories itself);
     * the files its command line names are moved too.
     */
    String preparedUnit() throws IOException {
        prepareCommand();
        return paths.map(Files.readString(root.resolve("lib/systemd/system/kuasar.service")));
    }

    /** The unit's RuntimeDirectory and StateDirectory, with their modes, as systemd makes them. */
    private void makeDirectories() throws IOException {
        String runMode = unit.one("Service.RuntimeDirectoryMode");
        for (String d : unit.one("Service.RuntimeDirectory").split("\\s+")) {
            made(paths.path("/run/" + d), runMode);
        }
        String stateMode = unit.one("Service.StateDirectoryMode");
        for (String d : unit.one("Service.StateDirectory").split("\\s+")) {
            made(paths.path("/var/lib/" + d), stateMode);
        }
    }

    /** ExecStart with the package's paths moved, and the files it names (java's argfile) and the CLI moved too. */
    private List<String> prepareCommand() throws IOException {
        List<String> command = unit.execStart().stream().map(paths::map).toList();
        for (String word : command) {
            if (word.startsWith("@")) { // java's argfile: a file of the package, its paths moved too
                mapInPlace(Path.of(word.substring(1)));
            }
        }
        mapInPlace(root.resolve("usr/bin/kuasar"));
        return command;
    }

    /** Runs the unit's ExecReload (MAINPID = the keeper), as {@code systemctl reload kuasar} would. */
    Run reload() {
        List<String> command = unit.command("Service.ExecReload", Map.of("MAINPID", Long.toString(keeper.pid())))
                .stream().map(paths::map).toList();
        return Run.of(Map.of("PATH", SYSTEMD_PATH), null, command.toArray(String[]::new));
    }

    long keeperPid() {
        return keeper.pid();
    }

    /** The keeper's java child, 0 if none runs. */
    long jvm() {
        return keeper.children().filter(p -> p.info().command().orElse("").endsWith("/java")).mapToLong(ProcessHandle::pid)
                .findFirst().orElse(0);
    }

    /** The package's /usr/bin/kuasar, at this node's admin socket. */
    Run cli(String... args) {
        String[] command = new String[args.length + 1];
        command[0] = root.resolve("usr/bin/kuasar").toString();
        System.arraycopy(args, 0, command, 1, args.length);
        return Run.of(cliEnv(Map.of()), null, command);
    }

    /** A maintainer script of the package (its paths moved) with the CLI on PATH, as dpkg would run it. */
    Run maintainerScript(Path script, Map<String, String> env, String... args) throws IOException {
        mapInPlace(script);
        String[] command = new String[args.length + 1];
        command[0] = script.toString();
        System.arraycopy(args, 0, command, 1, args.length);
        return Run.of(cliEnv(env), null, command);
    }

    /** The CLI on PATH, at this node's admin socket (the CLI's own override), then {@code more}. */
    private Map<String, String> cliEnv(Map<String, String> more) {
        Map<String, String> env = new HashMap<>();
        env.put("PATH", root.resolve("usr/bin") + ":" + SYSTEMD_PATH);
        env.put("KUASAR_ADMIN_SOCKET", paths.map("/run/kuasar/admin.sock"));
        env.putAll(more);
        return env;
    }

    /** Waits until the node answers its admin socket (after a start or a reload). */
    void awaitServing(Duration within) throws InterruptedException, IOException {
        long end = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < end) {
            if (keeper != null && !keeper.isAlive()) {
                throw new AssertionError("the keeper exited " + keeper.exitValue() + "; log " + log + ":\n" + tail());
            }
            if (Files.exists(paths.path("/run/kuasar/kuasar.sock")) && cli("drivers").exit() == 0) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the node did not answer within " + within + "; log " + log + ":\n" + tail());
    }

    String tail() throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    /** SIGTERM to the keeper, as systemd's stop with KillMode=process; SIGKILL to it and its JVM after 20 s. */
    @Override
    public void close() throws InterruptedException {
        if (keeper == null) {
            return;
        }
        List<ProcessHandle> jvms = keeper.children().toList();
        keeper.destroy();
        if (!keeper.waitFor(20, TimeUnit.SECONDS)) {
            jvms.forEach(ProcessHandle::destroyForcibly);
            keeper.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        killLeftOverVms();
    }

    /**
     * QEMU processes outlive the node by design (the vmm driver's VMs and its KVM probe, which a node stopped
     * seconds after its start leaves booting): end those whose sockets are in this node's run dir, as
     * kuasar-down.sh does for the scripts' node.
     */
    private void killLeftOverVms() {
        String mark = "unix:" + paths.map("/run/kuasar/");
        ProcessHandle.allProcesses().filter(p -> p.info().command().orElse("").contains("qemu-system"))
                .filter(p -> cmdline(p.pid()).contains(mark)).forEach(ProcessHandle::destroyForcibly);
    }

    private static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ');
        } catch (IOException | RuntimeException gone) {
            return "";
        }
    }

    private void mapInPlace(Path file) throws IOException {
        Files.writeString(file, paths.map(Files.readString(file)));
    }

    private static void made(Path dir, String mode) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString(rwx(Integer.parseInt(mode, 8))));
    }

    private static String rwx(int mode) {
        StringBuilder s = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            int bits = (mode >> shift) & 7;
            s.append((bits & 4) != 0 ? 'r' : '-').append((bits & 2) != 0 ? 'w' : '-').append((bits & 1) != 0 ? 'x' : '-');
        }
        return s.toString();
    }
}
