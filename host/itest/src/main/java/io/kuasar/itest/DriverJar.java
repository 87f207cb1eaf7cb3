package io.kuasar.itest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.osgi.framework.Bundle;

/** Driver jars for the upgrade tests, made from an installed bundle's content. */
final class DriverJar {
    private DriverJar() {
    }

    /** The bundle's current content as a jar (its own manifest). */
    static byte[] of(Bundle bundle) throws IOException {
        Manifest manifest;
        try (InputStream in = bundle.getEntry("META-INF/MANIFEST.MF").openStream()) {
            manifest = new Manifest(in);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream out = new JarOutputStream(bytes, manifest)) {
            Enumeration<URL> entries = bundle.findEntries("/", "*", true);
            List<URL> all = entries == null ? List.of() : Collections.list(entries);
            for (URL url : all) {
                String name = url.getPath().startsWith("/") ? url.getPath().substring(1) : url.getPath();
                if (name.isEmpty() || name.equalsIgnoreCase("META-INF/MANIFEST.MF")) {
                    continue;
                }
                out.putNextEntry(new JarEntry(name));
                if (!name.endsWith("/")) {
                    try (InputStream body = url.openStream()) {
                        body.transferTo(out);
                    }
                }
                out.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

    /** A copy of {@code jar} with {@code Bundle-Version: version}: "the next version" of the driver. */
    static byte[] withVersion(byte[] jar, String version) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarInputStream in = new JarInputStream(new java.io.ByteArrayInputStream(jar))) {
            Manifest manifest = new Manifest(in.getManifest());
            manifest.getMainAttributes().put(new Attributes.Name("Bundle-Version"), version);
            try (JarOutputStream out = new JarOutputStream(bytes, manifest)) {
                for (JarEntry e; (e = in.getNextJarEntry()) != null; ) {
                    out.putNextEntry(new JarEntry(e.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
        }
        return bytes.toByteArray();
    }
}
