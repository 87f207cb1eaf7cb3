package io.kuasar.packaging;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real systemd 252 managing units for a test, on a host not booted with systemd: {@code systemd --user} run as root
 * in a mount namespace and a cgroup of its own (src/test/sh/systemd-user-manager.sh says how and why). Its units'
 * RuntimeDirectory= is below {@code runtimeDir}, their StateDirectory= below {@code configHome}, and it reads units
 * from {@code configHome/systemd/user} (a drop-in: {@code NAME.service.d/FILE.conf}). A user manager runs a unit as the system manager would in what these tests
 * look at: Type=notify, the file descriptor store, KillMode=, ExecReload= and the restart and stop jobs.
 */
final class SystemdUserManager implements AutoCloseable {
    static final String SYSTEMD = "/lib/systemd/systemd";
    private static final Path SCRIPT = Path.of("src/test/sh/systemd-user-manager.sh");
    private static final Path NAMED_HIERARCHY = Path.of("/sys/fs/cgroup/systemd");

    private final Path runtimeDir;
    private final String cgroup;
    private final Process manager;

    /** Why no manager can run here, if so. */
    static Optional<String> unavailable() {
        if (!Files.isExecutable(Path.of(SYSTEMD))) {
            return Optional.of(SYSTEMD + " is not installed (package systemd; scripts/deps.d/package.sh installs it)");
        }
        if (!Files.exists(NAMED_HIERARCHY.resolve("cgroup.procs")) && !Files.isDirectory(Path.of("/sys/fs/cgroup/cpu"))) {
            return Optional.of("neither a name=systemd cgroup hierarchy nor cgroup v1 (where the manager's namespace"
                    + " mounts one) at /sys/fs/cgroup");
        }
        if (!Run.has("unshare") || !Run.has("nsenter") || !Run.has("systemctl")) {
            return Optional.of("unshare, nsenter or systemctl is missing (packages util-linux, systemd)");
        }
        return Optional.empty();
    }

    /** Starts a manager; {@code units} go to its unit folder first (name to text), {@code log} gets its output. */
    SystemdUserManager(Path runtimeDir, Path configHome, Map<String, String> units, Path log)
            throws IOException, InterruptedException {
        this.runtimeDir = runtimeDir;
        this.cgroup = "kuasar-test-" + ProcessHandle.current().pid();
        Path unitDir = Files.createDirectories(configHome.resolve("systemd/user"));
        Files.writeString(unitDir.resolve("kuasar-test.target"), "[Unit]\nDescription=what the test's manager starts with\n");
        for (Map.Entry<String, String> u : units.entrySet()) {
            Files.writeString(Files.createDirectories(unitDir.resolve(u.getKey()).getParent()).resolve(
                    unitDir.resolve(u.getKey()).getFileName()), u.getValue());
        }
        Files.createDirectories(runtimeDir);
        manager = new ProcessBuilder("unshare", "-m", "--propagation", "private", "sh", SCRIPT.toAbsolutePath().toString(),
                cgroup, runtimeDir.toString(), configHome.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!systemctl("is-system-running").output().strip().matches("running|degraded")) {
            if (!manager.isAlive() || System.nanoTime() > end) {
                throw new AssertionError("systemd --user did not come up; its log " + log + ":\n" + Files.readString(log));
            }
            Thread.sleep(100);
        }
    }

    /** {@code systemctl --user ARGS} against this manager, from inside its mount namespace. */
    Run systemctl(String... args) {
        List<String> command = new ArrayList<>(List.of("nsenter", "-t", Long.toString(manager.pid()), "-m",
                "env", "XDG_RUNTIME_DIR=" + runtimeDir, "systemctl", "--user", "--no-pager"));
        command.addAll(List.of(args));
        return Run.of(Map.of(), null, command.toArray(String[]::new));
    }

    /** A property of a unit, as {@code systemctl show -P}. */
    String property(String unit, String name) {
        return systemctl("show", "-P", name, unit).ok().strip();
    }

    /** Stops every unit (the manager's own exit) and removes the manager's cgroups. */
    @Override
    public void close() throws InterruptedException {
        manager.destroy(); // SIGTERM: the manager stops its units, then exits
        if (!manager.waitFor(60, TimeUnit.SECONDS)) {
            manager.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        killLeftOvers(); // what a stop leaves in a unit's cgroup: the keeper's holder (KillMode=process)
        for (Path h : List.of(NAMED_HIERARCHY, Path.of("/sys/fs/cgroup/unified"))) {
            removeTree(h.resolve(cgroup));
        }
    }

    /**
     * SIGKILL to every process left in our cgroup of the name=systemd hierarchy, found through /proc (that hierarchy
     * may be mounted only in the manager's namespace); containers live in cgroups of their own.
     */
    private void killLeftOvers() throws InterruptedException {
        String mine = ":name=systemd:/" + cgroup;
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            procs.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .filter(p -> lines(p.resolve("cgroup")).anyMatch(l -> l.endsWith(mine) || l.contains(mine + "/")))
                    .map(p -> ProcessHandle.of(Long.parseLong(p.getFileName().toString()))).flatMap(Optional::stream)
                    .forEach(ProcessHandle::destroyForcibly);
        } catch (IOException | RuntimeException ignored) {
            // removeTree leaves a cgroup that still holds a process
        }
        Thread.sleep(200); // the kernel empties a cgroup once the process is reaped
    }

    private static Stream<String> lines(Path file) {
        try {
            return Files.readAllLines(file).stream();
        } catch (IOException | RuntimeException gone) {
            return Stream.empty();
        }
    }

    /** A cgroup and its children, deepest first (rmdir: a cgroup still holding a process stays, harmlessly). */
    private static void removeTree(Path cg) {
        if (!Files.isDirectory(cg)) {
            return;
        }
        try (Stream<Path> all = Files.walk(cg)) {
            all.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).forEach(d -> d.toFile().delete());
        } catch (IOException | RuntimeException ignored) {
            // left for the next run's cleanup; it holds no process
        }
    }
}
