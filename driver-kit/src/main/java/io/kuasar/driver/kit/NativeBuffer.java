package io.kuasar.driver.kit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

/**
 * Native memory for a jnr-ffi call: a direct ByteBuffer (native byte order), freed with it, so keep the NativeBuffer
 * reachable while its pointer is in use. Used instead of jnr's {@code Memory.allocateDirect}, whose transient memory
 * keeps a magazine per calling thread and starts a finalizer thread, both holding the caller's class loader after a
 * driver is gone.
 *
 * @since 1.10
 */
public final class NativeBuffer {
    private final ByteBuffer buffer;
    private volatile Pointer pointer;

    private NativeBuffer(int size) {
        this.buffer = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
    }

    public static NativeBuffer allocate(int size) {
        return new NativeBuffer(size);
    }

    public ByteBuffer buffer() {
        return buffer;
    }

    public long size() {
        return buffer.capacity();
    }

    /** The memory as a jnr pointer (of jnr's one runtime in the node, which every bound library shares). */
    public Pointer pointer() {
        Pointer p = pointer;
        if (p == null) {
            long address = com.kenai.jffi.MemoryIO.getInstance().getDirectBufferAddress(buffer);
            p = Runtime.getSystemRuntime().getMemoryManager().newPointer(address, buffer.capacity());
            pointer = p;
        }
        return p;
    }
}
