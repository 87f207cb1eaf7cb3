package io.kuasar.host.trust;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.osgi.framework.Version;
import org.osgi.framework.VersionRange;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * What a bundle jar says about itself, read before anything is installed: its symbolic name and version, the
 * version range of {@code io.kuasar.spi} it imports, whether it provides a driver ({@code io.kuasar.spi.SandboxDriver}
 * in a DS component or its {@code Provide-Capability}) and the sandboxers its components claim
 * ({@code kuasar.sandboxer}), and whether it exports packages (a library drivers use, such as the wasm engine).
 */
public record BundleFacts(String symbolicName, Version version, VersionRange spiRange, boolean driver,
                          List<String> sandboxers, boolean exportsPackages) {
    public static final String SPI_PACKAGE = "io.kuasar.spi";
    static final String DRIVER_SERVICE = "io.kuasar.spi.SandboxDriver";
    static final String SANDBOXER_PROPERTY = "kuasar.sandboxer";

    /** Reads the facts; a jar without a manifest or a {@code Bundle-SymbolicName} is no OSGi bundle. */
    public static BundleFacts read(JarFile jar, String name) throws BundleRefusedException, IOException {
        Manifest manifest = jar.getManifest();
        if (manifest == null) {
            throw new BundleRefusedException("not an OSGi bundle: " + name + " has no META-INF/MANIFEST.MF");
        }
        Attributes main = manifest.getMainAttributes();
        String bsn = main.getValue("Bundle-SymbolicName");
        if (bsn == null || bsn.isBlank()) {
            throw new BundleRefusedException("not an OSGi bundle: " + name + " has no Bundle-SymbolicName in its manifest");
        }
        if (main.getValue("Fragment-Host") != null) {
            throw new BundleRefusedException(name + ": " + symbolicName(bsn) + " is a fragment (Fragment-Host); a"
                    + " fragment would add code to a bundle that is already trusted, so none is installed");
        }
        Version version;
        try {
            version = Version.parseVersion(main.getValue("Bundle-Version"));
        } catch (IllegalArgumentException e) {
            throw new BundleRefusedException("not an OSGi bundle: " + name + " has a malformed Bundle-Version: "
                    + e.getMessage());
        }
        Set<String> sandboxers = new LinkedHashSet<>();
        boolean driver = providesDriver(main.getValue("Provide-Capability"));
        for (String path : ManifestClauses.names(main.getValue("Service-Component"))) {
            driver |= readComponent(jar, path, name, sandboxers);
        }
        String exports = main.getValue("Export-Package");
        return new BundleFacts(symbolicName(bsn), version, spiRange(main.getValue("Import-Package"), name),
                driver, List.copyOf(sandboxers), exports != null && !exports.isBlank());
    }

    /** Whether this node's SPI version satisfies the bundle's import (true when it imports none). */
    public boolean spiSatisfiedBy(Version nodeSpi) {
        return spiRange == null || nodeSpi == null || spiRange.includes(nodeSpi);
    }

    public String describe() {
        return symbolicName + " " + version;
    }

    private static String symbolicName(String header) {
        int semicolon = header.indexOf(';');
        return (semicolon < 0 ? header : header.substring(0, semicolon)).trim();
    }

    private static VersionRange spiRange(String importPackage, String name) throws BundleRefusedException {
        for (ManifestClauses.Clause c : ManifestClauses.parse(importPackage)) {
            if (c.names().contains(SPI_PACKAGE) && !"optional".equals(c.directive("resolution"))) {
                String v = c.attribute("version");
                try {
                    return v == null ? new VersionRange("0.0.0") : new VersionRange(v);
                } catch (IllegalArgumentException e) {
                    throw new BundleRefusedException(name + ": malformed version range of " + SPI_PACKAGE + ": " + v);
                }
            }
        }
        return null;
    }

    private static boolean providesDriver(String provideCapability) {
        for (ManifestClauses.Clause c : ManifestClauses.parse(provideCapability)) {
            String objectClass = c.attribute("objectClass");
            if (c.names().contains("osgi.service") && objectClass != null
                    && List.of(objectClass.split(",")).stream().map(String::trim).anyMatch(DRIVER_SERVICE::equals)) {
                return true;
            }
        }
        return false;
    }

    /** Reads one DS component description: true when it provides the driver service; adds its sandboxers. */
    private static boolean readComponent(JarFile jar, String path, String name, Set<String> sandboxers)
            throws BundleRefusedException, IOException {
        JarEntry entry = jar.getJarEntry(path);
        if (entry == null) {
            return false; // a wildcard or a missing file: SCR would find no component there either
        }
        Document xml;
        try (InputStream in = jar.getInputStream(entry)) {
            xml = parser().parse(in);
        } catch (SAXException e) {
            throw new BundleRefusedException(name + ": component description " + path + " is not valid XML: "
                    + e.getMessage());
        }
        boolean driver = false;
        NodeList provides = xml.getElementsByTagNameNS("*", "provide");
        for (int i = 0; i < provides.getLength(); i++) {
            driver |= DRIVER_SERVICE.equals(((Element) provides.item(i)).getAttribute("interface"));
        }
        if (!driver) {
            return false;
        }
        NodeList properties = xml.getElementsByTagNameNS("*", "property");
        for (int i = 0; i < properties.getLength(); i++) {
            Element p = (Element) properties.item(i);
            if (SANDBOXER_PROPERTY.equals(p.getAttribute("name"))) {
                String values = p.hasAttribute("value") ? p.getAttribute("value") : p.getTextContent();
                values.lines().map(String::trim).filter(v -> !v.isEmpty()).forEach(sandboxers::add);
            }
        }
        return true;
    }

    private static DocumentBuilder parser() throws IOException {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return f.newDocumentBuilder();
        } catch (ParserConfigurationException e) {
            throw new IOException("no XML parser: " + e.getMessage(), e);
        }
    }

    /** For messages: the claimed sandboxers, or a note that none is declared. */
    public String sandboxerList() {
        return sandboxers.isEmpty() ? (driver ? "(none declared in its components)" : "(none: no driver)")
                : String.join(", ", sandboxers);
    }
}
