package io.kuasar.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/** Driver jars for upgrade tests: the runc driver the reactor built, and copies of it with another version. */
final class DriverJars {
    private DriverJars() {
    }

    /** {@code driver-runc/target/kuasar-driver-runc-*.jar} of the repository. */
    static Path builtRuncJar(Path repo) throws IOException {
        return builtJar(repo, "driver-runc", "kuasar-driver-runc");
    }

    /** {@code MODULE/target/ARTIFACT-*.jar} of the repository: the bundle the reactor built. */
    static Path builtJar(Path repo, String module, String artifact) throws IOException {
        try (Stream<Path> jars = Files.list(repo.resolve(module).resolve("target"))) {
            List<Path> found = new ArrayList<>(jars.filter(p -> p.getFileName().toString()
                    .matches(artifact + "-[0-9][^/]*(?<!-sources|-javadoc|-tests)\\.jar")).toList());
            assertEquals(1, found.size(), module + "/target/" + artifact + "-*.jar: " + found);
            return found.get(0);
        }
    }

    /** Copies {@code source} with {@code Bundle-Version: version}: the "new version" of the driver. */
    static void repack(Path source, Path target, String version) throws IOException {
        try (JarFile in = new JarFile(source.toFile())) {
            Manifest manifest = new Manifest(in.getManifest());
            manifest.getMainAttributes().put(new Attributes.Name("Bundle-Version"), version);
            try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(target), manifest)) {
                Enumeration<JarEntry> entries = in.entries();
                while (entries.hasMoreElements()) {
                    JarEntry e = entries.nextElement();
                    if (e.getName().equalsIgnoreCase("META-INF/MANIFEST.MF")) {
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
}
