package io.weir.runtime.cuda;

import io.weir.nativebindings.CudaContext;
import io.weir.nativebindings.CudaStream;
import io.weir.nativebindings.DeviceBuffer;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded model's constants on the device, uploaded once at load and only read afterwards.
 *
 * <p>Design note (concurrency): written during construction only (synchronous uploads finish
 * before the constructor returns), then read-only and shared by all workers of the model.
 * Closed by the owning {@link CudaLoadedModel} after its workers.
 */
final class DeviceWeights implements AutoCloseable {

    private final List<DeviceBuffer> buffers;
    private final long bytes;

    DeviceWeights(CudaContext ctx, List<ExecutionPlan.Weight> weights) {
        List<DeviceBuffer> out = new ArrayList<>(weights.size());
        long total = 0;
        try (CudaStream stream = ctx.createStream(); Arena arena = Arena.ofConfined()) {
            for (ExecutionPlan.Weight w : weights) {
                long size = 4L * Math.max(1, w.data().length);
                DeviceBuffer d = ctx.allocate(size);
                out.add(d);
                MemorySegment host = arena.allocate(size, 64);
                MemorySegment.copy(w.data(), 0, host, ValueLayout.JAVA_FLOAT, 0, w.data().length);
                d.copyFromHostAsync(host, 0, 0, size, stream);
                total += size;
            }
            stream.synchronize();
        } catch (RuntimeException e) {
            out.forEach(DeviceBuffer::close);
            throw e;
        }
        this.buffers = List.copyOf(out);
        this.bytes = total;
    }

    /** Device address of weight {@code index}. */
    long address(int index) {
        return buffers.get(index).address();
    }

    long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        buffers.forEach(DeviceBuffer::close);
    }
}
