package io.weir.runtime;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a freshly loaded executable before it takes traffic, at one row and at the model's maximum batch, so that
 * lazy allocations, kernel selection and JIT happen here and not on a client's request.
 */
public final class Warmup {
    private Warmup() {
    }

    public static void run(LoadedModel model, ModelConfig config) throws InferenceException {
        int[] sizes = config.maxBatchRows() > 1 ? new int[] {1, config.maxBatchRows(), 1} : new int[] {1, 1};
        for (int rows : sizes) {
            Map<String, Tensor> out = model.run(zeros(config, rows));
            for (TensorSpec spec : config.outputs()) {
                Tensor t = out.get(spec.name());
                if (t == null || t.rows() != rows || !t.conformsTo(spec)) {
                    throw new InferenceException("warm-up at " + rows + " rows: output '" + spec.name() + "' was " + t
                            + ", declared " + spec, false);
                }
            }
        }
    }

    /** Inputs of the declared shapes filled with zeros (empty strings for BYTES). */
    public static Map<String, Tensor> zeros(ModelConfig config, int rows) {
        return zeros(config.inputs(), rows);
    }

    /** Tensors of {@code rows} rows of each of {@code specs}, filled with zeros (empty strings for BYTES). */
    public static Map<String, Tensor> zeros(List<TensorSpec> specs, int rows) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (TensorSpec spec : specs) {
            long[] shape = spec.shape();
            shape[0] = rows;
            int n = Math.multiplyExact(rows, spec.rowWidth());
            in.put(spec.name(), switch (spec.dataType()) {
                case FP32 -> Tensor.ofFloats(shape, new float[n]);
                case INT64 -> Tensor.ofLongs(shape, new long[n]);
                case BYTES -> {
                    byte[][] b = new byte[n][];
                    java.util.Arrays.fill(b, new byte[0]);
                    yield Tensor.ofBytes(shape, b);
                }
            });
        }
        return in;
    }
}
