package io.kuasar.packaging;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** The package this module's build made (deb/build.sh at process-test-classes), read with dpkg-deb. */
record DebPackage(Path file) {

    /** target/kuasar_*_amd64.deb (surefire passes the directory as kuasar.deb.dir). */
    static DebPackage built() throws IOException {
        Path dir = Path.of(System.getProperty("kuasar.deb.dir", "target"));
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> debs = files.filter(p -> p.getFileName().toString().matches("kuasar_.+_amd64\\.deb")).toList();
            if (debs.size() != 1) {
                throw new AssertionError("expected one kuasar_*_amd64.deb in " + dir + " (built by deb/build.sh), found "
                        + debs);
            }
            return new DebPackage(debs.get(0));
        }
    }

    /** Path (without the leading ".") to "mode owner/group size" per entry of {@code dpkg-deb -c}. */
    Map<String, String> contents() {
        Map<String, String> entries = new TreeMap<>();
        for (String line : Run.of("dpkg-deb", "-c", file.toString()).ok().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6) {
                String path = f[5].replaceFirst("^\\.", "").replaceFirst("(.)/$", "$1");
                entries.put(path, f[0] + " " + f[1] + " " + f[2]);
            }
        }
        return entries;
    }

    String field(String name) {
        return Run.of("dpkg-deb", "-f", file.toString(), name).ok().trim();
    }

    /** A control member (postinst, conffiles, md5sums...) as text. */
    String control(String member) {
        return Run.of("dpkg-deb", "-I", file.toString(), member).ok();
    }

    /** {@code dpkg -x} into {@code root}: the files as dpkg would install them, below root. */
    Path unpack(Path root) {
        Run.of("dpkg-deb", "-x", file.toString(), root.toString()).ok();
        return root;
    }

    /** The control members ({@code dpkg-deb -e}) into {@code dir}. */
    Path controlFiles(Path dir) {
        Run.of("dpkg-deb", "-e", file.toString(), dir.toString()).ok();
        return dir;
    }
}
