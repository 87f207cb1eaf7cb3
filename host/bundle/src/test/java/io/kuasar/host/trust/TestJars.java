package io.kuasar.host.trust;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipFile;
import jdk.security.jarsigner.JarSigner;

/** Keys made with the JDK's keytool, bundles written here and signed with the JDK's JarSigner API. */
final class TestJars {
    static final String PASSWORD = "test-pass";

    record Key(Path store, Path certificate, String alias) {
    }

    private TestJars() {
    }

    /** A PKCS#12 key and its PEM certificate; {@code startDate} as keytool's -startdate (e.g. "-10d"), or null. */
    static Key key(Path dir, String alias, String subject, String startDate, int days) throws Exception {
        Key key = new Key(dir.resolve(alias + ".p12"), dir.resolve(alias + ".crt"), alias);
        List<String> gen = new ArrayList<>(List.of(keytool(), "-genkeypair", "-keystore", key.store().toString(),
                "-storetype", "PKCS12", "-storepass", PASSWORD, "-alias", alias, "-keyalg", "EC", "-groupname",
                "secp256r1", "-dname", subject, "-validity", String.valueOf(days)));
        if (startDate != null) {
            gen.addAll(List.of("-startdate", startDate));
        }
        run(gen);
        run(List.of(keytool(), "-exportcert", "-rfc", "-keystore", key.store().toString(), "-storetype", "PKCS12",
                "-storepass", PASSWORD, "-alias", alias, "-file", key.certificate().toString()));
        return key;
    }

    /** A driver bundle claiming {@code sandboxer}, importing the SPI in {@code spiRange}. */
    static Path driver(Path target, String sandboxer, String spiRange) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Bundle-ManifestVersion", "2");
        headers.put("Bundle-SymbolicName", "test.driver." + sandboxer);
        headers.put("Bundle-Version", "1.2.3");
        headers.put("Import-Package", "io.kuasar.spi;version=\"" + spiRange + "\",org.osgi.framework;version=\"[1.10,2)\"");
        headers.put("Service-Component", "OSGI-INF/test.Driver.xml");
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("OSGI-INF/test.Driver.xml", ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.4.0\" name=\"test.Driver\">\n"
                + "  <property name=\"kuasar.sandboxer\" type=\"String\" value=\"" + sandboxer + "\"/>\n"
                + "  <service><provide interface=\"io.kuasar.spi.SandboxDriver\"/></service>\n"
                + "  <implementation class=\"test.Driver\"/>\n</scr:component>\n").getBytes(StandardCharsets.UTF_8));
        entries.put("test/Driver.class", new byte[] {(byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 0, 0, 0, 61});
        return jar(target, headers, entries);
    }

    static Path jar(Path target, Map<String, String> headers, Map<String, byte[]> entries) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        headers.forEach((k, v) -> m.getMainAttributes().put(new Attributes.Name(k), v));
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(target), m)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                out.putNextEntry(new JarEntry(e.getKey()));
                out.write(e.getValue());
                out.closeEntry();
            }
        }
        return target;
    }

    static Path sign(Path source, Path target, Key key) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(key.store())) {
            store.load(in, PASSWORD.toCharArray());
        }
        JarSigner signer = new JarSigner.Builder((PrivateKey) store.getKey(key.alias(), PASSWORD.toCharArray()),
                CertificateFactory.getInstance("X.509").generateCertPath(
                        Arrays.asList(store.getCertificateChain(key.alias())))).digestAlgorithm("SHA-256")
                .signerName(key.alias().toUpperCase(java.util.Locale.ROOT)).build();
        try (ZipFile zip = new ZipFile(source.toFile()); OutputStream out = Files.newOutputStream(target)) {
            signer.sign(zip, out);
        }
        return target;
    }

    /** A copy of {@code source} with {@code entry} changed ({@code replace}) or added (absent before). */
    static Path rewrite(Path source, Path target, String entry, byte[] content) throws IOException {
        boolean seen = false;
        try (JarFile in = new JarFile(source.toFile(), false);
             JarOutputStream out = new JarOutputStream(Files.newOutputStream(target))) {
            for (JarEntry e : in.stream().toList()) {
                out.putNextEntry(new JarEntry(e.getName()));
                if (e.getName().equals(entry)) {
                    out.write(content);
                    seen = true;
                } else {
                    try (InputStream body = in.getInputStream(e)) {
                        body.transferTo(out);
                    }
                }
                out.closeEntry();
            }
            if (!seen) {
                out.putNextEntry(new JarEntry(entry));
                out.write(content);
                out.closeEntry();
            }
        }
        return target;
    }

    private static String keytool() {
        return Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(command + " failed: " + out);
        }
    }
}
