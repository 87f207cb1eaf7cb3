package io.kuasar.wasm.engine.internal.fs;

import static io.kuasar.wasm.engine.internal.fs.Native.EACCES;
import static io.kuasar.wasm.engine.internal.fs.Native.EEXIST;
import static io.kuasar.wasm.engine.internal.fs.Native.ELOOP;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOENT;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOTDIR;
import static io.kuasar.wasm.engine.internal.fs.Native.ENOTEMPTY;
import static io.kuasar.wasm.engine.internal.fs.Native.EPERM;

import io.kuasar.wasm.engine.internal.fs.Native.Errno;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * errno to the java.nio.file exception the JDK's own provider would throw, since that is what Chicory's WASI layer
 * catches to pick its errno (NoSuchFileException → ENOENT, FileAlreadyExistsException → EEXIST,
 * DirectoryNotEmptyException → ENOTEMPTY, NotDirectoryException → ENOTDIR; any other IOException → EIO). Messages
 * name paths in the container's view only: the host directory never appears.
 */
final class Errors {
    private Errors() {
    }

    static FileSystemException of(Errno e, Path file) {
        return of(e.code, file, null);
    }

    static FileSystemException of(Errno e, Path file, Path other) {
        return of(e.code, file, other);
    }

    /** {@code other}, when given, is the second path of a rename, and the one an EEXIST/ENOTEMPTY is about. */
    static FileSystemException of(int errno, Path file, Path other) {
        String f = file == null ? null : file.toString();
        String o = other == null ? null : other.toString();
        switch (errno) {
            case ENOENT:
                return new NoSuchFileException(f, o, null);
            case EEXIST:
                return new FileAlreadyExistsException(o != null ? o : f, null, null);
            case ENOTEMPTY:
                return new DirectoryNotEmptyException(o != null ? o : f);
            case ENOTDIR:
                return new NotDirectoryException(f);
            case EACCES:
            case EPERM:
                return new AccessDeniedException(f, o, Native.strerror(errno));
            case ELOOP:
                return new FileSystemLoopException(f);
            default:
                return new FileSystemException(f, o, Native.strerror(errno) + " (errno " + errno + ")");
        }
    }
}
