package io.kuasar.wasm.engine.internal.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.CopyOption;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Files.copy within confined file systems (Chicory's WASI layer does not copy; offered for completeness), built
 * only from the provider's own confined operations: a symlink is copied as its text, a directory as an empty
 * directory, a file by its bytes.
 */
final class Copying {
    private Copying() {
    }

    static void copy(ConfinedProvider fs, ConfinedPath source, ConfinedPath target, CopyOption... options)
            throws IOException {
        List<CopyOption> opts = Arrays.asList(options);
        boolean follow = !opts.contains(LinkOption.NOFOLLOW_LINKS);
        Stat st = fs.stat(source, follow);
        if (opts.contains(StandardCopyOption.REPLACE_EXISTING)) {
            try {
                fs.delete(target);
            } catch (NoSuchFileException absent) {
                // nothing to replace
            }
        }
        if (st.isSymbolicLink()) {
            fs.createSymbolicLink(target, source.getFileSystem().getPath(fs.linkText(source)));
        } else if (st.isDirectory()) {
            fs.createDirectory(target);
        } else {
            try (FileChannel in = fs.newFileChannel(source, Set.of(StandardOpenOption.READ));
                 FileChannel out = fs.newFileChannel(target,
                         Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW))) {
                ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
                while (in.read(buf) >= 0) {
                    buf.flip();
                    while (buf.hasRemaining()) {
                        out.write(buf);
                    }
                    buf.clear();
                }
            }
        }
        if (opts.contains(StandardCopyOption.COPY_ATTRIBUTES)) {
            Attributes.setTimes(target, follow, st.lastAccessTime(), st.lastModifiedTime());
        }
    }
}
