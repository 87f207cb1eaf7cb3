package io.kuasar.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertPath;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import jdk.security.jarsigner.JarSigner;

/**
 * Driver jars for upgrade and trust tests: the bundles the reactor built, copies of them with another version
 * (signed again with this build's key, as the node trusts), and signing with any key, by the JDK's own
 * {@link JarSigner} API; keys are made with the JDK's keytool. Used by the e2e tests and the driver-upgrade
 * benchmark.
 */
public final class DriverJars {
    /** The build's signer (made by the driver modules' poms) and its alias and password. */
    public static final String BUILD_ALIAS = "kuasar-build";
    public static final String BUILD_PASSWORD = "kuasar-build";

    /** A key store of one signing key: {@code store} (PKCS#12), its {@code certificate} (PEM), alias and password. */
    public record Key(Path store, Path certificate, String alias, String password) {
    }

    private DriverJars() {
    }

    /** {@code driver-runc/target/kuasar-driver-runc-*.jar} of the repository. */
    public static Path builtRuncJar(Path repo) throws IOException {
        return builtJar(repo, "driver-runc", "kuasar-driver-runc");
    }

    /** {@code MODULE/target/ARTIFACT-*.jar} of the repository: the bundle the reactor built. */
    public static Path builtJar(Path repo, String module, String artifact) throws IOException {
        try (Stream<Path> jars = Files.list(repo.resolve(module).resolve("target"))) {
            List<Path> found = new ArrayList<>(jars.filter(p -> p.getFileName().toString()
                    .matches(artifact + "-[0-9][^/]*(?<!-sources|-javadoc|-tests)\\.jar")).toList());
            if (found.size() != 1) {
                throw new IOException("not exactly one " + module + "/target/" + artifact + "-*.jar: " + found);
            }
            return found.get(0);
        }
    }

    /** This build's signing key: {@code target/build-signer} of the repository. */
    public static Key buildKey(Path repo) {
        Path dir = repo.resolve("target/build-signer");
        return new Key(dir.resolve("signer.p12"), dir.resolve("signer.crt"), BUILD_ALIAS, BUILD_PASSWORD);
    }

    /**
     * Copies {@code source} with {@code Bundle-Version: version}, signed with the build's key: "the new version"
     * of a driver, as the build would have made it.
     */
    public static void repack(Path source, Path target, String version) throws IOException {
        Path unsigned = Files.createTempFile(target.toAbsolutePath().getParent(), "unsigned-", ".jar");
        try {
            repackUnsigned(source, unsigned, version);
            sign(unsigned, target, buildKey(repoOf(source)));
        } finally {
            Files.deleteIfExists(unsigned);
        }
    }

    /** As {@link #repack}, without any signature (the old one is dropped: it would not match the new manifest). */
    public static void repackUnsigned(Path source, Path target, String version) throws IOException {
        try (JarFile in = new JarFile(source.toFile())) {
            Manifest manifest = new Manifest();
            manifest.getMainAttributes().putAll(in.getManifest().getMainAttributes()); // no per-entry digests
            manifest.getMainAttributes().put(new Attributes.Name("Bundle-Version"), version);
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(target), manifest)) {
                Enumeration<JarEntry> entries = in.entries();
                while (entries.hasMoreElements()) {
                    JarEntry e = entries.nextElement();
                    if (e.getName().equalsIgnoreCase(JarFile.MANIFEST_NAME) || signatureFile(e.getName())) {
                        continue;
                    }
                    out.putNextEntry(new JarEntry(e.getName()));
                    try (InputStream body = in.getInputStream(e)) {
                        body.transferTo(out);
                    }
                    out.closeEntry();
                }
            }
        }
    }

    /** Signs {@code source} into {@code target} with {@code key}, by {@link JarSigner} (SHA-256 digests). */
    public static void sign(Path source, Path target, Key key) throws IOException {
        try (InputStream in = Files.newInputStream(key.store())) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, key.password().toCharArray());
            PrivateKey privateKey = (PrivateKey) store.getKey(key.alias(), key.password().toCharArray());
            CertPath chain = CertificateFactory.getInstance("X.509")
                    .generateCertPath(Arrays.asList(store.getCertificateChain(key.alias())));
            JarSigner signer = new JarSigner.Builder(privateKey, chain).digestAlgorithm("SHA-256").build();
            try (ZipFile zip = new ZipFile(source.toFile()); OutputStream out = Files.newOutputStream(target)) {
                signer.sign(zip, out);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot sign " + source + " with " + key.store() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes a vendor's signing key with keytool: {@code dir/NAME.p12} and its certificate {@code dir/NAME.crt}.
     *
     * @param startDate keytool's {@code -startdate} (e.g. {@code -10d} for an already expired certificate), or null
     */
    public static Key vendorKey(Path dir, String name, String subject, String startDate, int validityDays)
            throws IOException, InterruptedException {
        Key key = new Key(dir.resolve(name + ".p12"), dir.resolve(name + ".crt"), name, "vendor-" + name);
        Files.deleteIfExists(key.store());
        List<String> gen = new ArrayList<>(List.of(keytool(), "-genkeypair", "-keystore", key.store().toString(),
                "-storetype", "PKCS12", "-storepass", key.password(), "-alias", name, "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", subject, "-validity", String.valueOf(validityDays)));
        if (startDate != null) {
            gen.addAll(List.of("-startdate", startDate));
        }
        run(gen);
        run(List.of(keytool(), "-exportcert", "-rfc", "-keystore", key.store().toString(), "-storetype", "PKCS12",
                "-storepass", key.password(), "-alias", name, "-file", key.certificate().toString()));
        return key;
    }

    /** A copy of the signed {@code source} with one byte of {@code entry} changed, signature files kept. */
    public static void tamper(Path source, Path target, String entry) throws IOException {
        try (JarFile in = new JarFile(source.toFile(), false);
             JarOutputStream out = new JarOutputStream(Files.newOutputStream(target))) {
            Enumeration<JarEntry> entries = in.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                out.putNextEntry(new JarEntry(e.getName()));
                byte[] body;
                try (InputStream b = in.getInputStream(e)) {
                    body = b.readAllBytes();
                }
                if (e.getName().equals(entry)) {
                    body[body.length - 1] ^= 1;
                }
                out.write(body);
                out.closeEntry();
            }
        }
    }

    /** The first class file of the jar: an entry to tamper with. */
    public static String firstClass(Path jar) throws IOException {
        try (JarFile in = new JarFile(jar.toFile(), false)) {
            return in.stream().map(JarEntry::getName).filter(n -> n.endsWith(".class")).findFirst().orElseThrow();
        }
    }

    private static boolean signatureFile(String name) {
        String upper = name.toUpperCase(Locale.ROOT);
        return upper.startsWith("META-INF/") && upper.indexOf('/', 9) < 0 && (upper.endsWith(".SF")
                || upper.endsWith(".RSA") || upper.endsWith(".DSA") || upper.endsWith(".EC") || upper.startsWith("META-INF/SIG-"));
    }

    /** The repository a built jar lives in: {@code REPO/MODULE[/SUB]/target/x.jar}. */
    private static Path repoOf(Path builtJar) {
        for (Path p = builtJar.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("scripts/node-env.sh"))) {
                return p;
            }
        }
        return NodeEnv.fromEnvironment().repo();
    }

    private static String keytool() {
        return Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(command.get(1) + " failed: " + output);
        }
    }
}
