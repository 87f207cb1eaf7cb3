package io.kuasar.wasm.engine.internal;

import com.dylibso.chicory.runtime.ByteArrayMemory;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;

/**
 * A module's linear memory with the container's memory limit on top of the module's own maximum. Growing within
 * the module's maximum but past the container's limit does not answer -1 (what memory.grow says when the module's
 * own maximum is reached, and what a module may handle): it throws {@link LinearMemoryLimitException}, ending the
 * module the way the kernel's OOM killer ends a process past its cgroup limit. Everything else is delegated to
 * Chicory's byte-array memory; compiled modules reach memory through the {@link Memory} interface, so the wrapper
 * sits on every access but adds only a call the JIT inlines (one implementation per call site).
 */
final class CappedMemory implements Memory {
    private final Memory inner;
    private final int capPages;
    private final HeapBudget budget;
    private volatile int peakPages;
    private long taken;

    /** {@code capPages} 0: no cap beyond the module's own maximum (the node's heap budget still applies). */
    CappedMemory(MemoryLimits limits, int capPages, HeapBudget budget) {
        this.capPages = capPages;
        this.budget = budget;
        if (capPages > 0 && limits.initialPages() > capPages) {
            throw new LinearMemoryLimitException("the module's initial memory (" + limits.initialPages()
                    + " pages of 64 KiB) is above the container's memory limit (" + capPages + " pages)");
        }
        long initial = (long) limits.initialPages() * PAGE_SIZE;
        budget.take(initial);
        this.taken = initial;
        this.inner = new ByteArrayMemory(limits);
        this.peakPages = inner.pages();
    }

    /** Gives this memory's bytes back to the node's budget; the module has ended. */
    synchronized void free() {
        budget.give(taken);
        taken = 0;
    }

    /** Bytes of linear memory at its largest so far. */
    long peakBytes() {
        return (long) peakPages * PAGE_SIZE;
    }

    long bytes() {
        return (long) inner.pages() * PAGE_SIZE;
    }

    @Override
    public int grow(int size) {
        int before = inner.pages();
        long wanted = (long) before + Integer.toUnsignedLong(size);
        if (capPages > 0 && wanted > capPages && wanted <= inner.maximumPages()) {
            throw new LinearMemoryLimitException("memory.grow to " + wanted * (PAGE_SIZE / 1024)
                    + " KiB exceeds the container's memory limit of " + (long) capPages * (PAGE_SIZE / 1024) + " KiB");
        }
        long more = Integer.toUnsignedLong(size) * PAGE_SIZE;
        if (wanted <= inner.maximumPages()) {
            synchronized (this) {
                budget.take(more);
                taken += more;
            }
        }
        int r = inner.grow(size);
        if (r < 0) {
            synchronized (this) {
                budget.give(more);
                taken -= more;
            }
        }
        int now = inner.pages();
        if (now > peakPages) {
            peakPages = now;
        }
        return r;
    }

    @Override public int pages() { return inner.pages(); }
    @Override public int initialPages() { return inner.initialPages(); }
    @Override public int maximumPages() { return inner.maximumPages(); }
    @Override public boolean shared() { return inner.shared(); }
    @Override public Object lock(int address) { return inner.lock(address); }
    @Override public int waitOn(int address, int expected, long timeout) { return inner.waitOn(address, expected, timeout); }
    @Override public int waitOn(int address, long expected, long timeout) { return inner.waitOn(address, expected, timeout); }
    @Override public int notify(int address, int count) { return inner.notify(address, count); }
    @Override public void initialize(Instance instance, DataSegment[] segments) { inner.initialize(instance, segments); }
    @Override public void initialize(Instance instance, DataSegment[] segments, int offset) { inner.initialize(instance, segments, offset); }
    @Override public void initPassiveSegment(int segmentId, int dest, int offset, int size) { inner.initPassiveSegment(segmentId, dest, offset, size); }
    @Override public void write(int addr, byte[] data, int offset, int size) { inner.write(addr, data, offset, size); }
    @Override public byte read(int addr) { return inner.read(addr); }
    @Override public byte[] readBytes(int addr, int len) { return inner.readBytes(addr, len); }
    @Override public void writeI32(int addr, int data) { inner.writeI32(addr, data); }
    @Override public int readInt(int addr) { return inner.readInt(addr); }
    @Override public void writeLong(int addr, long data) { inner.writeLong(addr, data); }
    @Override public long readLong(int addr) { return inner.readLong(addr); }
    @Override public void writeShort(int addr, short data) { inner.writeShort(addr, data); }
    @Override public short readShort(int addr) { return inner.readShort(addr); }
    @Override public long readU16(int addr) { return inner.readU16(addr); }
    @Override public void writeByte(int addr, byte data) { inner.writeByte(addr, data); }
    @Override public void writeF32(int addr, float data) { inner.writeF32(addr, data); }
    @Override public long readF32(int addr) { return inner.readF32(addr); }
    @Override public float readFloat(int addr) { return inner.readFloat(addr); }
    @Override public void writeF64(int addr, double data) { inner.writeF64(addr, data); }
    @Override public double readDouble(int addr) { return inner.readDouble(addr); }
    @Override public long readF64(int addr) { return inner.readF64(addr); }
    @Override public void zero() { inner.zero(); }
    @Override public void fill(byte value, int fromIndex, int toIndex) { inner.fill(value, fromIndex, toIndex); }
    @Override public void copy(int dest, int src, int size) { inner.copy(dest, src, size); }
    @Override public void drop(int segment) { inner.drop(segment); }
}
