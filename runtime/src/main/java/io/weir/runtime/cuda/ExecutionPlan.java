package io.weir.runtime.cuda;

import io.weir.nativebindings.Activation;
import io.weir.runtime.TensorSpec;

import java.util.List;

/**
 * What {@link OnnxPlanCompiler} makes of an ONNX graph: value slots (one device buffer each, sized
 * per batch row), constant weights, and the ordered steps that read and write slots. Independent
 * of any device, so it is built and checked without a GPU; {@link CudaWorker} executes it.
 *
 * <p>Every slot holds a row-major tensor whose first dimension is the batch: {@code width} is the
 * number of elements per batch row. Identity/Reshape/Flatten produce no step: their output
 * shares the input's slot. Immutable.
 *
 * @param slots    value slots; index = slot id
 * @param inputs   graph inputs, in config order, with the slot they are uploaded to
 * @param outputs  graph outputs, in config order, with the slot they are read back from
 * @param weights  initializers used by steps (fp32), uploaded once per loaded model
 * @param steps    the computation, in execution order
 * @param fusions  human-readable list of the fusions applied (for logs and the admin API)
 */
record ExecutionPlan(List<Slot> slots, List<Binding> inputs, List<Binding> outputs, List<Weight> weights,
                     List<Step> steps, List<String> fusions) {

    ExecutionPlan {
        slots = List.copyOf(slots);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        weights = List.copyOf(weights);
        steps = List.copyOf(steps);
        fusions = List.copyOf(fusions);
    }

    /** Element type of a slot. */
    enum ElemType {
        F32(4), I64(8);

        final int bytes;

        ElemType(int bytes) {
            this.bytes = bytes;
        }
    }

    /** A value buffer: {@code width} elements of {@code type} per batch row. */
    record Slot(long width, ElemType type) {
        long bytesPerRow() {
            return width * type.bytes;
        }
    }

    /** A graph input or output bound to a slot. */
    record Binding(String name, int slot, TensorSpec spec) {
    }

    /** An fp32 constant ({@code dims} row-major). */
    record Weight(String name, long[] dims, float[] data) {
    }

    /** One unit of device work. Slot and weight fields are indices into the plan's lists. */
    sealed interface Step permits Gemm, BiasActivation, Unary, AddSame, Softmax, Gather {
        /** Slots this step reads. */
        List<Integer> reads();

        /** The slot this step writes. */
        int out();
    }

    /**
     * {@code out[M,N] = act(alpha * in[M,K] . W + bias)}, {@code M = rows * rowMul}; {@code W} is the
     * weight stored {@code [K,N]}, or {@code [N,K]} when {@code transB}. {@code bias} is a weight
     * index of length N (already scaled by Gemm's beta) or -1.
     */
    record Gemm(int in, int weight, boolean transB, int rowMul, int k, int n, float alpha, int bias, Activation act,
                int out) implements Step {
        @Override
        public List<Integer> reads() {
            return List.of(in);
        }

        Gemm withBias(int newBias, int newOut) {
            return new Gemm(in, weight, transB, rowMul, k, n, alpha, newBias, act, newOut);
        }

        Gemm withActivation(Activation newAct, int newOut) {
            return new Gemm(in, weight, transB, rowMul, k, n, alpha, bias, newAct, newOut);
        }
    }

    /** {@code out = act(in + bias)} with {@code bias} (a weight, or -1) broadcast over rows of {@code cols}. */
    record BiasActivation(int in, int bias, long cols, Activation act, int out) implements Step {
        @Override
        public List<Integer> reads() {
            return List.of(in);
        }
    }

    /** Elementwise {@code out = act(in)}. */
    record Unary(int in, Activation act, int out) implements Step {
        @Override
        public List<Integer> reads() {
            return List.of(in);
        }
    }

    /** {@code out = a + b}, same shapes. */
    record AddSame(int a, int b, int out) implements Step {
        @Override
        public List<Integer> reads() {
            return List.of(a, b);
        }
    }

    /** Softmax over the last dimension ({@code cols} wide). */
    record Softmax(int in, long cols, int out) implements Step {
        @Override
        public List<Integer> reads() {
            return List.of(in);
        }
    }

    /**
     * Embedding lookup: {@code out[r, j, :] = table[ids[r, j], :]} for {@code idsPerRow} int64 ids per
     * batch row; {@code table} is a weight {@code [vocab, dim]}.
     */
    record Gather(int table, int ids, long idsPerRow, long dim, long vocab, int out) implements Step {
        @Override
        public List<Integer> reads() {
            return List.of(ids);
        }
    }

    boolean usesGather() {
        return steps.stream().anyMatch(s -> s instanceof Gather);
    }

    /** One line per step, for logs. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(slots.size()).append(" slots, ").append(weights.size()).append(" weights, ")
                .append(steps.size()).append(" steps");
        for (Step s : steps) {
            sb.append("\n  ").append(s);
        }
        if (!fusions.isEmpty()) {
            sb.append("\n  fused: ").append(fusions);
        }
        return sb.toString();
    }
}
