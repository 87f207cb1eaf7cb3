package io.kuasar.wasm.engine.internal.fs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The WASI preopens of one run, as confined directories. The "/" preopen (the container's rootfs) becomes a
 * confined file system rooted at its host directory. A preopen whose host directory lies under the rootfs (a
 * volume the driver bind-mounted at its destination, as runc does) is that directory of the same file system,
 * so absolute links inside it resolve against the container's root, as they would under runc. Any other preopen
 * is a confined file system of its own. Read-only preopens stay as the driver made them (read-only bind mounts:
 * the kernel refuses writes). The roots are opened here, once, and closed with this at the end of the run.
 */
public final class ConfinedPreopens implements AutoCloseable {
    private final Map<String, Path> directories;
    private final List<ConfinedFileSystem> opened;

    private ConfinedPreopens(Map<String, Path> directories, List<ConfinedFileSystem> opened) {
        this.directories = directories;
        this.opened = opened;
    }

    /**
     * guest path → host directory, in the driver's order (it decides the WASI descriptor numbers), each resolved by
     * {@code mode}.
     */
    public static ConfinedPreopens open(Map<String, Path> preopens, Resolution mode) throws IOException {
        Map<String, Path> dirs = new LinkedHashMap<>();
        List<ConfinedFileSystem> opened = new ArrayList<>();
        try {
            Path rootHost = preopens.get("/") == null ? null : preopens.get("/").toAbsolutePath().normalize();
            ConfinedFileSystem rootFs = null;
            if (rootHost != null) {
                rootFs = ConfinedFileSystem.open(rootHost, mode);
                opened.add(rootFs);
            }
            for (Map.Entry<String, Path> e : preopens.entrySet()) {
                Path host = e.getValue().toAbsolutePath().normalize();
                if (rootFs != null && host.startsWith(rootHost)) {
                    // The driver's own paths (trusted), compared as names; inside, the kernel resolves in the root.
                    dirs.put(e.getKey(), rootFs.root().resolve(rootHost.relativize(host).toString()));
                } else {
                    ConfinedFileSystem fs = ConfinedFileSystem.open(host, mode);
                    opened.add(fs);
                    dirs.put(e.getKey(), fs.root());
                }
            }
        } catch (IOException | RuntimeException e) {
            opened.forEach(ConfinedFileSystem::close);
            throw e;
        }
        return new ConfinedPreopens(dirs, opened);
    }

    /** What WasiOptions.withDirectory takes: guest path → a directory of a confined file system. */
    public Map<String, Path> directories() {
        return directories;
    }

    @Override
    public void close() {
        opened.forEach(ConfinedFileSystem::close);
    }
}
