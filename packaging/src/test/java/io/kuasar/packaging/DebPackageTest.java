package io.kuasar.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The built kuasar_VERSION_amd64.deb: its files, their modes, its control fields, conffiles and scripts. */
class DebPackageTest {
    private static final Path REPO = Path.of(System.getProperty("kuasar.repo", "..")).toAbsolutePath().normalize();
    private static DebPackage deb;
    private static Map<String, String> contents;

    @BeforeAll
    static void read() throws IOException {
        deb = DebPackage.built();
        contents = deb.contents();
    }

    @Test
    void isNamedAndVersionedAfterTheMavenProject() throws IOException {
        String pom = Files.readString(REPO.resolve("pom.xml"));
        Matcher m = Pattern.compile("<artifactId>kuasar-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        assertTrue(m.find(), "the parent pom's version");
        String version = m.group(1).replace("-SNAPSHOT", "~SNAPSHOT"); // ~ sorts before the release in Debian
        assertEquals("kuasar_" + version + "_amd64.deb", deb.file().getFileName().toString());
        assertEquals(version, deb.field("Version"));
        assertEquals("kuasar", deb.field("Package"));
        assertEquals("amd64", deb.field("Architecture"));
        String depends = deb.field("Depends");
        for (String needed : List.of("runc", "java17-runtime-headless", "init-system-helpers", "procps")) {
            assertTrue(depends.contains(needed), "Depends names " + needed + ": " + depends);
        }
    }

    @Test
    void shipsTheNodeTheKeeperTheCliTheUnitAndTheirSettingsWithTheirModes() {
        Map<String, String> want = Map.of(
                "/usr/lib/kuasar/kuasar.jar", "-rw-r--r-- root/root",
                "/usr/lib/kuasar/kuasar-keeper", "-rwxr-xr-x root/root",
                "/usr/bin/kuasar", "-rwxr-xr-x root/root",
                "/lib/systemd/system/kuasar.service", "-rw-r--r-- root/root",
                "/etc/kuasar/jvm.args", "-rw-r--r-- root/root",
                "/etc/kuasar/conf.d/README", "-rw-r--r-- root/root",
                "/etc/containerd/conf.d/kuasar.toml", "-rw-r--r-- root/root",
                "/usr/share/doc/kuasar/copyright", "-rw-r--r-- root/root",
                "/usr/share/man/man1/kuasar.1.gz", "-rw-r--r-- root/root");
        want.forEach((path, mode) -> {
            assertTrue(contents.containsKey(path), "the package has " + path + "; it has " + contents.keySet());
            assertTrue(contents.get(path).startsWith(mode), path + " is " + mode + ", not " + contents.get(path));
        });
        contents.forEach((path, mode) -> {
            assertTrue(mode.contains(" root/root "), path + " belongs to root: " + mode);
            assertEquals('-', mode.charAt(5), path + " is not group-writable: " + mode);
            assertEquals('-', mode.charAt(8), path + " is not writable by others: " + mode);
        });
    }

    @Test
    void shipsTheJarThisBuildMade(@TempDir Path root) throws IOException {
        deb.unpack(root);
        assertEquals(-1L, Files.mismatch(REPO.resolve("host/target/kuasar.jar"), root.resolve("usr/lib/kuasar/kuasar.jar")),
                "the package's kuasar.jar is host/target/kuasar.jar");
        String keeper = Run.of(root.resolve("usr/lib/kuasar/kuasar-keeper").toString(), "--version").ok();
        assertFalse(keeper.isBlank(), "the packaged keeper runs");
    }

    /** /usr/bin/kuasar is the node's client: without arguments it prints the commands and starts no node. */
    @Test
    void theCliWithoutArgumentsPrintsItsUsage(@TempDir Path root) throws IOException {
        deb.unpack(root);
        Path cli = root.resolve("usr/bin/kuasar");
        Files.writeString(cli, new PathMap(root, root.resolve("containerd.sock")).map(Files.readString(cli)));
        Run run = Run.of(Map.of(), root, cli.toString());
        assertEquals(0, run.exit(), run.output());
        assertTrue(run.output().startsWith("usage: "), run.output());
    }

    @Test
    void everyFileUnderEtcIsAConffileAndNothingElseIs() {
        Set<String> etcFiles = contents.entrySet().stream()
                .filter(e -> e.getKey().startsWith("/etc/") && e.getValue().startsWith("-"))
                .map(Map.Entry::getKey).collect(Collectors.toCollection(TreeSet::new));
        Set<String> conffiles = new TreeSet<>(List.of(deb.control("conffiles").strip().split("\n")));
        assertEquals(etcFiles, conffiles);
    }

    @Test
    void maintainerScriptsAreExecutableShellThatParses(@TempDir Path dir) throws IOException {
        deb.controlFiles(dir);
        for (String script : List.of("postinst", "prerm", "postrm")) {
            Path p = dir.resolve(script);
            assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), script);
            List<String> lines = Files.readAllLines(p);
            assertEquals("#!/bin/sh", lines.get(0), script + " is POSIX sh");
            assertTrue(lines.contains("set -e"), script + " stops at the first failure");
            Run.of("sh", "-n", p.toString()).ok();
            String text = Files.readString(p);
            assertFalse(text.matches("(?s).*(>|sed -i|tee)[^\\n]*/etc/containerd/config\\.toml.*"),
                    script + " never writes containerd's own config");
        }
        assertTrue(Files.readString(dir.resolve("prerm")).contains("KUASAR_FORCE_REMOVE"), "prerm's override");
        // md5sums covers every file of the package
        Set<String> summed = new LinkedHashSet<>();
        for (String line : Files.readAllLines(dir.resolve("md5sums"))) {
            summed.add("/" + line.split("\\s+", 2)[1]);
        }
        Set<String> files = contents.entrySet().stream().filter(e -> e.getValue().startsWith("-"))
                .map(Map.Entry::getKey).collect(Collectors.toSet());
        assertEquals(new TreeSet<>(files), new TreeSet<>(summed));
    }

    /** kuasar-up.sh's JVM options are the package's too: the unit runs the node the scripts run, at other paths. */
    @Test
    void jvmArgsCarryTheScriptsJvmOptions(@TempDir Path root) throws IOException {
        deb.unpack(root);
        String up = Files.readString(REPO.resolve("scripts/kuasar-up.sh"));
        Matcher m = Pattern.compile("DEFAULT_JAVA_OPTS\\+?=\"([^\"]*)\"").matcher(up);
        Set<String> scriptOptions = new LinkedHashSet<>();
        while (m.find()) {
            scriptOptions.addAll(List.of(m.group(1).trim().split("\\s+")));
        }
        assertTrue(scriptOptions.size() > 5, "found kuasar-up.sh's DEFAULT_JAVA_OPTS: " + scriptOptions);
        List<String> args = Files.readAllLines(root.resolve("etc/kuasar/jvm.args"));
        for (String option : scriptOptions) {
            assertTrue(args.contains(option), "jvm.args has kuasar-up.sh's " + option);
        }
        for (String property : List.of("kuasar.listen", "kuasar.state.dir", "kuasar.run.dir", "kuasar.drivers.dir",
                "kuasar.config.dir", "kuasar.containerd.ttrpc", "gosh.args")) {
            assertTrue(args.stream().anyMatch(a -> a.startsWith("-D" + property + "=")), "jvm.args sets " + property);
        }
    }

    /** WasmEdge is not carried: Debian's package is suggested, and the unpacked tree goes where jvm.args looks. */
    @Test
    void wasmEdgeComesFromDebiansPackageOrTheTreeReadmeDebianNames(@TempDir Path root) throws IOException {
        assertTrue(deb.field("Suggests").contains("wasmedge (>= 0.14)"), deb.field("Suggests"));
        deb.unpack(root);
        String rootArg = Files.readAllLines(root.resolve("etc/kuasar/jvm.args")).stream()
                .filter(a -> a.startsWith("-Dkuasar.wasmedge.root=")).findFirst().orElseThrow();
        String dir = rootArg.substring(rootArg.indexOf('=') + 1);
        String readme = Files.readString(root.resolve("usr/share/doc/kuasar/README.Debian"));
        assertTrue(readme.contains("KUASAR_WASMEDGE_ROOT=" + dir) && readme.contains("apt-get install wasmedge"), readme);
        try (var files = Files.walk(root)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith("libwasmedge")),
                    "no WasmEdge inside the package");
        }
    }

    /** The drop-in offers the handlers the scripts' private containerd offers, each at the unit's socket. */
    @Test
    void containerdDropInHasTheScriptsHandlersAtTheUnitsSocket(@TempDir Path root) throws IOException {
        deb.unpack(root);
        String dropIn = Files.readString(root.resolve("etc/containerd/conf.d/kuasar.toml"));
        String scripts = Files.readString(REPO.resolve("scripts/containerd-up.sh"));
        assertTrue(dropIn.lines().anyMatch(l -> l.strip().equals("version = 3")),
                "the drop-in says which config version it is written in");
        String listen = Files.readAllLines(root.resolve("etc/kuasar/jvm.args")).stream()
                .filter(a -> a.startsWith("-Dkuasar.listen=")).findFirst().orElseThrow().substring(16);
        Map<String, String> want = handlers(scripts);
        assertTrue(want.size() >= 6, "containerd-up.sh's kuasar handlers: " + want);
        assertEquals(want, handlers(dropIn));
        for (String sandboxer : want.values()) {
            assertTrue(Pattern.compile("\\[proxy_plugins\\." + sandboxer + "]\\s+type = 'sandbox'\\s+address = '"
                    + Pattern.quote(listen) + "'").matcher(dropIn).find(), "proxy plugin " + sandboxer + " at " + listen);
        }
    }

    /** handler name to sandboxer, for every kuasar-* runtime in a containerd config. */
    private static Map<String, String> handlers(String toml) {
        Matcher m = Pattern.compile("runtimes\\.(kuasar-[a-z]+)]\\s+runtime_type = '[^']*'[^\\n]*\\s+sandboxer = '([a-z]+)'")
                .matcher(toml);
        Map<String, String> out = new java.util.TreeMap<>();
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }
}
