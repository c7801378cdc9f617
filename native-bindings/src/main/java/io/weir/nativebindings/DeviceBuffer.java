package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Device memory from {@code cuMemAlloc}. Addresses are plain {@code long}s ({@code CUdeviceptr}),
 * never dereferenceable from Java; all host transfers go through native {@link MemorySegment}s
 * (pinned ones, from {@link PinnedHostBuffer}, for truly asynchronous copies).
 *
 * <p>Design note (concurrency): address and size are immutable; {@link #close()} is idempotent
 * (first caller frees). Copies are bounds-checked against both sides before the driver sees them.
 * Whoever owns the buffer must not close it while work that uses it is still queued on a stream
 * ({@code cuMemFree} does not wait for other streams).
 */
public final class DeviceBuffer implements AutoCloseable {

    private final CudaContext context;
    private final long address;
    private final long byteSize;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private DeviceBuffer(CudaContext context, long address, long byteSize) {
        this.context = context;
        this.address = address;
        this.byteSize = byteSize;
    }

    static DeviceBuffer allocate(CudaContext context, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation size must be positive: " + bytes);
        }
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            Driver.check(CudaDriver.cuMemAlloc_v2(out, bytes), "cuMemAlloc_v2");
            DeviceBuffer b = new DeviceBuffer(context, out.get(ValueLayout.JAVA_LONG, 0), bytes);
            context.register(b);
            return b;
        }
    }

    /** The device address ({@code CUdeviceptr}). */
    public long address() {
        ensureOpen();
        return address;
    }

    /** Device address of byte {@code offset} (bounds-checked). */
    public long address(long offset) {
        ensureOpen();
        Objects.checkIndex(offset, byteSize);
        return address + offset;
    }

    public long byteSize() {
        return byteSize;
    }

    public CudaContext context() {
        return context;
    }

    /** Enqueues host -> device: {@code bytes} from {@code src[srcOffset..]} to {@code this[dstOffset..]}. */
    public void copyFromHostAsync(MemorySegment src, long srcOffset, long dstOffset, long bytes, CudaStream stream) {
        checkHost(src, srcOffset, bytes);
        Objects.checkFromIndexSize(dstOffset, bytes, byteSize);
        stream.ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuMemcpyHtoDAsync_v2(address() + dstOffset, src.asSlice(srcOffset, bytes), bytes,
                stream.handle()), "cuMemcpyHtoDAsync_v2");
    }

    /** Enqueues device -> host: {@code bytes} from {@code this[srcOffset..]} to {@code dst[dstOffset..]}. */
    public void copyToHostAsync(MemorySegment dst, long dstOffset, long srcOffset, long bytes, CudaStream stream) {
        checkHost(dst, dstOffset, bytes);
        Objects.checkFromIndexSize(srcOffset, bytes, byteSize);
        stream.ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuMemcpyDtoHAsync_v2(dst.asSlice(dstOffset, bytes), address() + srcOffset, bytes,
                stream.handle()), "cuMemcpyDtoHAsync_v2");
    }

    /** Enqueues device -> device from {@code src[srcOffset..]} into {@code this[dstOffset..]}. */
    public void copyFromDeviceAsync(DeviceBuffer src, long srcOffset, long dstOffset, long bytes, CudaStream stream) {
        Objects.checkFromIndexSize(srcOffset, bytes, src.byteSize());
        Objects.checkFromIndexSize(dstOffset, bytes, byteSize);
        stream.ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuMemcpyDtoDAsync_v2(address() + dstOffset, src.address() + srcOffset, bytes,
                stream.handle()), "cuMemcpyDtoDAsync_v2");
    }

    /** Synchronous upload of the whole of {@code src} (at most {@link #byteSize()} bytes) to offset 0. */
    public void copyFromHost(MemorySegment src, CudaStream stream) {
        copyFromHostAsync(src, 0, 0, src.byteSize(), stream);
        stream.synchronize();
    }

    /** Synchronous download into {@code dst} (its whole size) from offset 0. */
    public void copyToHost(MemorySegment dst, CudaStream stream) {
        copyToHostAsync(dst, 0, 0, dst.byteSize(), stream);
        stream.synchronize();
    }

    /** Enqueues setting every byte to {@code value}. */
    public void fillAsync(byte value, CudaStream stream) {
        stream.ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuMemsetD8Async(address(), value, byteSize, stream.handle()), "cuMemsetD8Async");
    }

    /** Sets every byte to {@code value}, synchronously with respect to the host. */
    public void fill(byte value) {
        context.makeCurrent();
        Driver.check(CudaDriver.cuMemsetD8_v2(address(), value, byteSize), "cuMemsetD8_v2");
    }

    private static void checkHost(MemorySegment host, long offset, long bytes) {
        if (!host.isNative()) {
            throw new IllegalArgumentException("host segment must be native (off-heap) memory, not a heap array");
        }
        Objects.checkFromIndexSize(offset, bytes, host.byteSize());
    }

    private void ensureOpen() {
        if (!open.get()) {
            throw new IllegalStateException("device buffer is closed");
        }
    }

    public boolean isOpen() {
        return open.get();
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            context.makeCurrent();
            Driver.check(CudaDriver.cuMemFree_v2(address), "cuMemFree_v2");
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer[0x" + Long.toHexString(address) + ", " + byteSize + " bytes" + (open.get() ? "" : ", closed") + "]";
    }
}
