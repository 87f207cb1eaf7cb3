package io.kuasar.host.internal;

import io.kuasar.host.trust.BundleRefusedException;
import io.kuasar.host.trust.JarSignatures;
import io.kuasar.host.trust.Signer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.osgi.framework.Bundle;

/**
 * Who signed an installed bundle's current content, for "an upgrade keeps its signer". Felix without its security
 * extension does not verify signatures, and a bundle the node shipped with has no file of its own, so the content is
 * written out from the bundle's own entries (manifest bytes as they are, signature files included) and verified like
 * any jar. Cached per bundle and revision ({@link Bundle#getLastModified()}).
 */
final class InstalledSigners {
    private record Key(long bundleId, long lastModified) {
    }

    /** What is known of a bundle's signature: its signer, none (unsigned), or why it does not verify. */
    record Finding(Optional<Signer> signer, String problem) {
        String describe() {
            return problem != null ? "a signature that does not verify (" + problem + ")"
                    : signer.map(Signer::describe).orElse("no signer (unsigned)");
        }
    }

    private final Map<Key, Finding> cache = new ConcurrentHashMap<>();
    private final Path workDir;

    InstalledSigners(Path workDir) {
        this.workDir = workDir;
    }

    Finding of(Bundle bundle) throws IOException {
        Key key = new Key(bundle.getBundleId(), bundle.getLastModified());
        Finding known = cache.get(key);
        if (known != null) {
            return known;
        }
        Files.createDirectories(workDir);
        Path jar = Files.createTempFile(workDir, "installed-", ".jar");
        Finding finding;
        try {
            write(bundle, jar);
            try (JarFile file = new JarFile(jar.toFile(), true)) {
                finding = new Finding(JarSignatures.signer(file, bundle.getSymbolicName() + " " + bundle.getVersion()), null);
            } catch (BundleRefusedException e) {
                finding = new Finding(Optional.empty(), e.getMessage());
            }
        } finally {
            Files.deleteIfExists(jar);
        }
        cache.keySet().removeIf(k -> k.bundleId() == key.bundleId());
        cache.put(key, finding);
        return finding;
    }

    /** The bundle's own entries (not its fragments'), manifest first and byte for byte. */
    static void write(Bundle bundle, Path target) throws IOException {
        URL manifest = bundle.getEntry(JarFile.MANIFEST_NAME);
        if (manifest == null) {
            throw new IOException("bundle " + bundle.getSymbolicName() + " has no manifest entry");
        }
        try (OutputStream file = Files.newOutputStream(target); ZipOutputStream zip = new ZipOutputStream(file)) {
            copy(manifest, JarFile.MANIFEST_NAME, zip);
            for (String path : paths(bundle, "/")) {
                if (!path.equalsIgnoreCase(JarFile.MANIFEST_NAME)) {
                    URL url = bundle.getEntry(path);
                    if (url != null) {
                        copy(url, path, zip);
                    }
                }
            }
        }
    }

    private static List<String> paths(Bundle bundle, String dir) {
        List<String> all = new ArrayList<>();
        Enumeration<String> paths = bundle.getEntryPaths(dir);
        while (paths != null && paths.hasMoreElements()) {
            String p = paths.nextElement();
            all.add(p);
            if (p.endsWith("/")) {
                all.addAll(paths(bundle, p));
            }
        }
        return all;
    }

    private static void copy(URL url, String path, ZipOutputStream zip) throws IOException {
        zip.putNextEntry(new ZipEntry(path));
        if (!path.endsWith("/")) {
            try (InputStream in = url.openStream()) {
                in.transferTo(zip);
            }
        }
        zip.closeEntry();
    }
}
