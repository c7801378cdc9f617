package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One CUDA device and its primary context: the root of every GPU resource Weir creates.
 *
 * <p>Design note (concurrency and lifetimes):
 * <ul>
 *   <li>Thread-safe. The driver API is thread-safe but a context must be <em>current</em> on the
 *       calling thread; every wrapper calls {@link #makeCurrent()} first, which is a thread-local
 *       read when the context is already current (no driver call).</li>
 *   <li>Owns its children (streams, buffers, events, modules, graphs, cuBLAS handles): each
 *       registers itself on creation and unregisters on close. {@link #close()} closes whatever is
 *       still open, then releases the primary context, so nothing outlives the context.</li>
 *   <li>Invariant: after {@code close()} returns, {@link #isOpen()} is false and no driver call is
 *       made through this object or its children again (their methods throw
 *       {@link IllegalStateException}).</li>
 * </ul>
 */
public final class CudaContext implements AutoCloseable {

    /** Per thread: the CUcontext address last made current by this class (0 = none). */
    private static final ThreadLocal<long[]> CURRENT = ThreadLocal.withInitial(() -> new long[1]);

    private final int ordinal;
    private final int device;
    private final MemorySegment context;
    private final String name;
    private final long totalMemory;
    private final int computeMajor;
    private final int computeMinor;
    private final int multiprocessors;
    private final Set<AutoCloseable> children = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean open = new AtomicBoolean(true);

    private CudaContext(int ordinal, int device, MemorySegment context, String name, long totalMemory,
                        int computeMajor, int computeMinor, int multiprocessors) {
        this.ordinal = ordinal;
        this.device = device;
        this.context = context;
        this.name = name;
        this.totalMemory = totalMemory;
        this.computeMajor = computeMajor;
        this.computeMinor = computeMinor;
        this.multiprocessors = multiprocessors;
    }

    /**
     * Opens device {@code ordinal}: retains its primary context and makes it current on the calling
     * thread. Throws {@link GpuUnavailableException} when {@link Cuda#probe()} says no GPU.
     */
    public static CudaContext open(int ordinal) {
        Cuda.requireAvailable();
        CudaProbe probe = Cuda.probe();
        if (ordinal < 0 || ordinal >= probe.deviceCount()) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist (" + probe.deviceCount() + " visible)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment outInt = arena.allocate(ValueLayout.JAVA_INT);
            Driver.check(CudaDriver.cuDeviceGet(outInt, ordinal), "cuDeviceGet");
            int dev = outInt.get(ValueLayout.JAVA_INT, 0);
            MemorySegment nameBuf = arena.allocate(256);
            Driver.check(CudaDriver.cuDeviceGetName(nameBuf, (int) nameBuf.byteSize(), dev), "cuDeviceGetName");
            MemorySegment outLong = arena.allocate(ValueLayout.JAVA_LONG);
            Driver.check(CudaDriver.cuDeviceTotalMem_v2(outLong, dev), "cuDeviceTotalMem_v2");
            int major = attribute(outInt, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR(), dev);
            int minor = attribute(outInt, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR(), dev);
            int sms = attribute(outInt, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT(), dev);
            MemorySegment outPtr = arena.allocate(ValueLayout.ADDRESS);
            Driver.check(CudaDriver.cuDevicePrimaryCtxRetain(outPtr, dev), "cuDevicePrimaryCtxRetain");
            MemorySegment ctx = outPtr.get(ValueLayout.ADDRESS, 0);
            CudaContext c = new CudaContext(ordinal, dev, ctx, nameBuf.getString(0), outLong.get(ValueLayout.JAVA_LONG, 0),
                    major, minor, sms);
            try {
                c.makeCurrent();
            } catch (RuntimeException e) {
                CudaDriver.cuDevicePrimaryCtxRelease_v2(dev);
                throw e;
            }
            return c;
        }
    }

    /** Opens the device named by {@code weir.cuda.device} / {@code WEIR_CUDA_DEVICE}, else device 0. */
    public static CudaContext openDefault() {
        String v = System.getProperty("weir.cuda.device", System.getenv("WEIR_CUDA_DEVICE"));
        return open(v == null || v.isBlank() ? 0 : Integer.parseInt(v.strip()));
    }

    private static int attribute(MemorySegment out, int attribute, int dev) {
        Driver.check(CudaDriver.cuDeviceGetAttribute(out, attribute, dev), "cuDeviceGetAttribute");
        return out.get(ValueLayout.JAVA_INT, 0);
    }

    /** Reads any {@code CU_DEVICE_ATTRIBUTE_*} value of this device. */
    public int attribute(int cuDeviceAttribute) {
        ensureOpen();
        try (Arena arena = Arena.ofConfined()) {
            return attribute(arena.allocate(ValueLayout.JAVA_INT), cuDeviceAttribute, device);
        }
    }

    /** Binds this context to the calling thread (no driver call if it already is). */
    public void makeCurrent() {
        ensureOpen();
        long[] cur = CURRENT.get();
        long addr = context.address();
        if (cur[0] != addr) {
            Driver.check(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            cur[0] = addr;
        }
    }

    /** Waits for all work on the device to finish; surfaces asynchronous (e.g. sticky) errors. */
    public void synchronize() {
        makeCurrent();
        Driver.check(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /** Free and total device memory in bytes. */
    public MemoryInfo memoryInfo() {
        makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            Driver.check(CudaDriver.cuMemGetInfo_v2(free, total), "cuMemGetInfo_v2");
            return new MemoryInfo(free.get(ValueLayout.JAVA_LONG, 0), total.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** {@code cuMemGetInfo} result. */
    public record MemoryInfo(long freeBytes, long totalBytes) {
    }

    public CudaStream createStream() {
        return CudaStream.create(this);
    }

    public DeviceBuffer allocate(long bytes) {
        return DeviceBuffer.allocate(this, bytes);
    }

    /** A device buffer freed when {@code scope} closes (or earlier by {@link DeviceBuffer#close()}). */
    public DeviceBuffer allocate(long bytes, Arena scope) {
        DeviceBuffer b = DeviceBuffer.allocate(this, bytes);
        MemorySegment.NULL.reinterpret(scope, ignored -> b.close());
        return b;
    }

    public PinnedHostBuffer allocatePinned(long bytes) {
        return PinnedHostBuffer.allocate(this, bytes);
    }

    public CudaEvent createEvent(boolean timing) {
        return CudaEvent.create(this, timing);
    }

    /** Loads a PTX (NUL-terminated or not) or cubin image. */
    public CudaModule loadModule(byte[] image) {
        return CudaModule.load(this, image);
    }

    /** A cuBLAS handle on this device; throws {@link GpuUnavailableException} without libcublas. */
    public Cublas createCublas() {
        return Cublas.create(this);
    }

    public int ordinal() {
        return ordinal;
    }

    /** The {@code CUdevice} handle. */
    public int device() {
        return device;
    }

    public String name() {
        return name;
    }

    public long totalMemory() {
        return totalMemory;
    }

    public int computeCapabilityMajor() {
        return computeMajor;
    }

    public int computeCapabilityMinor() {
        return computeMinor;
    }

    public int multiprocessorCount() {
        return multiprocessors;
    }

    public boolean isOpen() {
        return open.get();
    }

    void ensureOpen() {
        if (!open.get()) {
            throw new IllegalStateException("CUDA context for device " + ordinal + " is closed");
        }
    }

    void register(AutoCloseable child) {
        ensureOpen();
        children.add(child);
    }

    void unregister(AutoCloseable child) {
        children.remove(child);
    }

    /**
     * Closes every child still open, then releases the primary context. Idempotent. The first
     * failure is rethrown after everything was attempted.
     */
    @Override
    public void close() {
        if (!open.get()) {
            return;
        }
        RuntimeException failure = null;
        List<AutoCloseable> remaining = new ArrayList<>(children);
        for (AutoCloseable child : remaining) {
            try {
                child.close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        children.clear();
        if (open.compareAndSet(true, false)) {
            int rc = CudaDriver.cuDevicePrimaryCtxRelease_v2(device);
            long[] cur = CURRENT.get();
            if (cur[0] == context.address()) {
                cur[0] = 0;
            }
            if (rc != 0 && failure == null) {
                failure = CudaException.of("cuDevicePrimaryCtxRelease_v2", rc);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public String toString() {
        return "CudaContext[" + ordinal + ": " + name + ", sm_" + computeMajor + computeMinor + ", "
                + multiprocessors + " SMs, " + (totalMemory >> 20) + " MiB" + (open.get() ? "" : ", closed") + "]";
    }
}
