package io.kuasar.host.admin;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * {@code kuasar doctor [--containerd-config FILE]}: checks the host a node runs on and prints one line per finding,
 * {@code OK}, {@code WARN} or {@code FAIL}, with the fix: cgroups, runc, runsc, QEMU and KVM, WasmEdge (with
 * versions), containerd's config (its sandbox proxy plugins and handlers), the admin socket's and the node's
 * directories' permissions. It runs in the command's own process and needs no node: a host where the node will not
 * start is where it helps most. Exit code 1 when a line is FAIL. Everything is read below {@code root} (a fake host in
 * tests); the tools found there are run with {@code --version}.
 */
public final class HostDoctor {
    public static final String COMMAND = "doctor";
    static final String CONFIG_OPTION = "--containerd-config";

    enum Level { OK, WARN, FAIL }

    /** One line: what was checked, what was found, and what to do about it (null when nothing). */
    record Finding(Level level, String subject, String text, String fix) {
        String line() {
            return String.format("%-4s %-10s %s", level, subject, text) + (fix == null ? "" : "; fix: " + fix);
        }
    }

    private final Path root;
    private final Map<String, String> environment;
    private final int selfUid;

    HostDoctor(Path root, Map<String, String> environment, int selfUid) {
        this.root = root;
        this.environment = environment;
        this.selfUid = selfUid;
    }

    /** Runs the command: the lines on {@code out}, 0 when nothing FAILs, 1 otherwise (2: bad arguments). */
    static int run(List<String> args, String socket, PrintStream out, PrintStream err, Map<String, String> environment) {
        Path config = null;
        if (args.size() == 2 && args.get(0).equals(CONFIG_OPTION)) {
            config = Path.of(args.get(1)).toAbsolutePath();
        } else if (!args.isEmpty()) {
            err.println("kuasar: usage: doctor [" + CONFIG_OPTION + " FILE]");
            return 2;
        }
        int uid = NodeDirectories.selfUid();
        Path admin = socket != null ? Path.of(socket)
                : NodeDiscovery.find(AdminClient.properties(), environment, uid).socket();
        List<Finding> findings = new HostDoctor(Path.of("/"), environment, uid).check(config, admin);
        findings.forEach(f -> out.println(f.line()));
        long failed = findings.stream().filter(f -> f.level() == Level.FAIL).count();
        long warned = findings.stream().filter(f -> f.level() == Level.WARN).count();
        out.println(failed + " to fix, " + warned + " warning(s)");
        return failed == 0 ? 0 : 1;
    }

    /** Every finding; {@code config} and {@code adminSocket} may be null (then found, or said to be missing). */
    List<Finding> check(Path config, Path adminSocket) {
        List<Finding> all = new ArrayList<>();
        all.add(cgroups());
        all.add(tool("runc", "runc", Level.FAIL, "apt-get install runc (every pod of the runc driver needs it)"));
        all.add(tool("runsc", "runsc", Level.WARN, "scripts/install-deps.sh, or apt-get install runsc (handlers"
                + " kuasar-runsc and kuasar-quark need it)"));
        all.add(tool("qemu", "qemu-system-x86_64", Level.WARN, "apt-get install qemu-system-x86 (the vmm driver"
                + " needs it)"));
        all.add(kvm());
        all.add(wasmedge());
        all.addAll(containerd(config));
        all.addAll(places(adminSocket));
        return all;
    }

    Finding cgroups() {
        List<String> mounts;
        try {
            mounts = Files.readAllLines(root.resolve("proc/self/mounts"));
        } catch (IOException e) {
            return new Finding(Level.FAIL, "cgroups", "cannot read /proc/self/mounts: " + e.getMessage(), "mount /proc");
        }
        Set<String> v1 = new TreeSet<>();
        String unified = null;
        for (String line : mounts) {
            String[] f = line.split(" ");
            if (f.length >= 4 && f[2].equals("cgroup")) {
                for (String o : f[3].split(",")) {
                    if (!Set.of("rw", "ro", "nosuid", "nodev", "noexec", "relatime").contains(o) && !o.contains("=")) {
                        v1.add(o);
                    }
                }
            } else if (f.length >= 3 && f[2].equals("cgroup2")) {
                unified = f[1];
            }
        }
        if (v1.isEmpty() && unified != null) {
            Set<String> controllers = new TreeSet<>(List.of(read(root.resolve(unified.substring(1))
                    .resolve("cgroup.controllers")).orElse("").trim().split("\\s+")));
            controllers.remove("");
            return needs(controllers, "v2 (" + unified + "): " + String.join(", ", controllers), Set.of("cpu", "memory", "pids"));
        }
        if (v1.isEmpty()) {
            return new Finding(Level.FAIL, "cgroups", "no cgroup file system is mounted",
                    "mount cgroup2 on /sys/fs/cgroup (runc needs cgroups)");
        }
        String hybrid = unified == null ? "" : " (and cgroup2 at " + unified + ")";
        return needs(v1, "v1" + hybrid + ": " + String.join(", ", v1), Set.of("cpu", "memory", "pids", "devices"));
    }

    private static Finding needs(Set<String> have, String text, Set<String> needed) {
        Set<String> missing = new TreeSet<>(needed);
        missing.removeAll(have);
        return missing.isEmpty() ? new Finding(Level.OK, "cgroups", text, null)
                : new Finding(Level.FAIL, "cgroups", text + "; missing " + String.join(", ", missing),
                "enable the controllers (kernel command line, or cgroup.subtree_control of the parent)");
    }

    Finding tool(String subject, String name, Level missing, String fix) {
        Optional<Path> found = find(name);
        if (found.isEmpty()) {
            return new Finding(missing, subject, name + " not found in " + searchPath(), fix);
        }
        return version(found.get()).map(v -> new Finding(Level.OK, subject, found.get() + ": " + v, null))
                .orElse(new Finding(missing, subject, found.get() + " does not run (" + found.get() + " --version failed)",
                        fix));
    }

    Finding kvm() {
        Path dev = root.resolve("dev/kvm");
        if (!Files.exists(dev)) {
            return new Finding(Level.WARN, "kvm", "no /dev/kvm: the vmm driver boots its VMs under TCG (slow)",
                    "enable virtualisation (a kvm module, or nested virtualisation for a VM)");
        }
        try (FileChannel c = FileChannel.open(dev, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return new Finding(Level.OK, "kvm", "/dev/kvm opens read-write (whether it boots a guest shows at the"
                    + " first VM: the vmm driver falls back to TCG)", null);
        } catch (IOException | UnsupportedOperationException e) {
            return new Finding(Level.WARN, "kvm", "/dev/kvm cannot be opened read-write: " + e.getMessage(),
                    "run the node as root, or give its user the kvm group");
        }
    }

    Finding wasmedge() {
        List<Path> roots = new ArrayList<>();
        for (String v : new String[] {environment.get("KUASAR_WASMEDGE_ROOT"), environment.get("KUASAR_CACHE") == null
                ? null : environment.get("KUASAR_CACHE") + "/wasmedge", "/opt/kuasar/wasmedge"}) {
            if (v != null && !v.isBlank()) {
                roots.add(root.resolve(v.substring(v.startsWith("/") ? 1 : 0)));
            }
        }
        for (Path r : roots) {
            Path bin = r.resolve("bin/wasmedge");
            if (Files.isExecutable(bin)) {
                return version(bin).map(v -> new Finding(Level.OK, "wasmedge", bin + ": " + v, null))
                        .orElse(new Finding(Level.WARN, "wasmedge", bin + " does not run", "scripts/deps.d/wasm.sh"));
            }
        }
        return tool("wasmedge", "wasmedge", Level.WARN, "scripts/deps.d/wasm.sh unpacks WasmEdge; or set"
                + " KUASAR_WASMEDGE_ROOT (the wasmedge handler needs it; the wasm handler does not)");
    }

    /** The config named, else /etc/containerd/config.toml, else the scripts' private one. */
    List<Finding> containerd(Path config) {
        List<Path> candidates = new ArrayList<>();
        if (config != null) {
            candidates.add(config);
        } else {
            candidates.add(root.resolve("etc/containerd/config.toml"));
            String nodeDir = environment.getOrDefault("KUASAR_NODE_DIR", NodeDiscovery.SCRIPTS_NODE_DIR);
            candidates.add(root.resolve(nodeDir.substring(nodeDir.startsWith("/") ? 1 : 0)).resolve("containerd.toml"));
        }
        Path file = candidates.stream().filter(Files::isRegularFile).findFirst().orElse(null);
        if (file == null) {
            return List.of(new Finding(config == null ? Level.WARN : Level.FAIL, "containerd", "no config at "
                    + candidates, "name it: doctor " + CONFIG_OPTION + " FILE"));
        }
        ContainerdConfigCheck.Findings f;
        try {
            f = new ContainerdConfigCheck(root).read(file);
        } catch (IOException e) {
            return List.of(new Finding(Level.FAIL, "containerd", "cannot read " + file + ": " + e, null));
        }
        List<Finding> all = new ArrayList<>();
        String read = f.files().size() == 1 ? file.toString() : file + " (with " + (f.files().size() - 1) + " import(s))";
        if (f.sandboxers().isEmpty()) {
            all.add(new Finding(Level.FAIL, "containerd", read + " has no sandbox proxy plugin",
                    "add [proxy_plugins.runc] type = 'sandbox', address = '<the node's kuasar.listen socket>'"));
        }
        for (ContainerdConfigCheck.Sandboxer s : f.sandboxers()) {
            String where = "proxy plugin " + s.name() + " -> " + s.address();
            if (s.handlers().isEmpty()) {
                all.add(new Finding(Level.FAIL, "containerd", where + ": no runtime handler names it",
                        "add [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kuasar-" + s.name()
                                + "] sandboxer = '" + s.name() + "'"));
            } else if (!NodeDirectories.listening(root.resolve(s.address().replaceFirst("^/", "")))) {
                all.add(new Finding(Level.WARN, "containerd", where + " (handlers " + String.join(", ", s.handlers())
                        + "): no node listens there", "start the node with kuasar.listen=" + s.address()));
            } else {
                all.add(new Finding(Level.OK, "containerd", where + ", handlers " + String.join(", ", s.handlers()),
                        null));
            }
        }
        f.orphanHandlers().forEach((h, s) -> all.add(new Finding(Level.FAIL, "containerd", "handler " + h
                + " names sandboxer " + s + ", which no sandbox proxy plugin of " + read + " defines",
                "add [proxy_plugins." + s + "] type = 'sandbox'")));
        return all;
    }

    /** The admin socket (0600, root's or ours) and the node's run and state directories (NodeDirectories' rule). */
    List<Finding> places(Path adminSocket) {
        if (adminSocket == null || !Files.exists(adminSocket, LinkOption.NOFOLLOW_LINKS)) {
            return List.of(new Finding(Level.WARN, "node", "no node found, so its socket and directories are not"
                    + " checked", "start it, or name its socket: " + AdminClient.SOCKET_OPTION + " PATH doctor"));
        }
        List<Finding> all = new ArrayList<>();
        try {
            int mode = (Integer) Files.getAttribute(adminSocket, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            int owner = (Integer) Files.getAttribute(adminSocket, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            String text = adminSocket + " mode " + String.format("%04o", mode & 07777) + ", uid " + owner;
            all.add((mode & 077) != 0 || (owner != 0 && owner != selfUid)
                    ? new Finding(Level.FAIL, "admin", text + ": others could drive the node", "chmod 600 " + adminSocket)
                    : new Finding(Level.OK, "admin", text, null));
        } catch (IOException e) {
            all.add(new Finding(Level.FAIL, "admin", "cannot stat " + adminSocket + ": " + e.getMessage(), null));
        }
        Path run = adminSocket.toAbsolutePath().getParent();
        Set<Path> dirs = new LinkedHashSet<>(List.of(run));
        Path sibling = run.resolveSibling("state");   // the scripts' layout: <node>/kuasar/{run,state}
        dirs.add(Files.isDirectory(sibling) ? sibling : root.resolve("var/lib/kuasar"));
        for (Path d : dirs) {
            if (!Files.exists(d)) {
                continue;
            }
            try {
                NodeDirectories.requireSafe(d, selfUid);
                all.add(new Finding(Level.OK, "dirs", d + ": only root or the node's user can change it", null));
            } catch (IOException e) {
                all.add(new Finding(Level.FAIL, "dirs", e.getMessage(), "chmod go-w, chown root (the node refuses"
                        + " to start otherwise)"));
            }
        }
        return all;
    }

    Optional<Path> find(String name) {
        for (String dir : searchPath()) {
            Path p = root.resolve(dir.substring(dir.startsWith("/") ? 1 : 0)).resolve(name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** The system's tool directories, then $PATH's. */
    List<String> searchPath() {
        Set<String> dirs = new LinkedHashSet<>(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                "/sbin", "/bin"));
        String path = environment.get("PATH");
        if (path != null && root.equals(Path.of("/"))) {
            for (String d : path.split(":")) {
                if (d.startsWith("/")) {
                    dirs.add(d);
                }
            }
        }
        return new ArrayList<>(dirs);
    }

    /** The first line {@code tool --version} prints, within 10 s. */
    static Optional<String> version(Path tool) {
        try {
            Process p = new ProcessBuilder(tool.toString(), "--version").redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            byte[] out = p.getInputStream().readNBytes(4096);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return Optional.empty();
            }
            return p.exitValue() != 0 ? Optional.empty() : new String(out, StandardCharsets.UTF_8).lines()
                    .map(String::strip).filter(l -> !l.isEmpty()).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static Optional<String> read(Path p) {
        try {
            return Optional.of(Files.readString(p));
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
