package io.weir.runtime.cuda;

import io.weir.runtime.Tensor;
import io.weir.runtime.cuda.ExecutionPlan.Binding;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Executes an {@link ExecutionPlan} on the CPU with the kernels' semantics (fp32 storage, double
 * accumulation in GEMMs), so that the plan compiler can be checked against ONNX Runtime on
 * machines without a GPU. Test code only: the production path is {@link CudaWorker}.
 */
final class PlanInterpreter {

    private PlanInterpreter() {
    }

    static Map<String, Tensor> run(ExecutionPlan plan, Map<String, Tensor> inputs, int rows) {
        Object[] slots = new Object[plan.slots().size()];
        for (int i = 0; i < slots.length; i++) {
            ExecutionPlan.Slot s = plan.slots().get(i);
            int n = Math.toIntExact(rows * s.width());
            slots[i] = s.type() == ExecutionPlan.ElemType.F32 ? new float[n] : new long[n];
        }
        for (Binding b : plan.inputs()) {
            Tensor t = inputs.get(b.name());
            switch (t.dataType()) {
                case FP32 -> System.arraycopy(t.floats(), 0, slots[b.slot()], 0, t.length());
                case INT64 -> System.arraycopy(t.longs(), 0, slots[b.slot()], 0, t.length());
                case BYTES -> throw new IllegalArgumentException("BYTES");
            }
        }
        for (ExecutionPlan.Step step : plan.steps()) {
            switch (step) {
                case ExecutionPlan.Gemm g -> {
                    float[] a = (float[]) slots[g.in()];
                    float[] w = plan.weights().get(g.weight()).data();
                    float[] c = (float[]) slots[g.out()];
                    float[] bias = g.bias() >= 0 ? plan.weights().get(g.bias()).data() : null;
                    int m = rows * g.rowMul();
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < g.n(); j++) {
                            double s = 0;
                            for (int p = 0; p < g.k(); p++) {
                                float wv = g.transB() ? w[j * g.k() + p] : w[p * g.n() + j];
                                s += (double) a[i * g.k() + p] * wv;
                            }
                            float v = (float) (g.alpha() * s);
                            if (bias != null) {
                                v += bias[j];
                            }
                            c[i * g.n() + j] = g.act().apply(v);
                        }
                    }
                }
                case ExecutionPlan.BiasActivation ba -> {
                    float[] x = (float[]) slots[ba.in()];
                    float[] y = (float[]) slots[ba.out()];
                    float[] bias = ba.bias() >= 0 ? plan.weights().get(ba.bias()).data() : null;
                    for (int i = 0; i < x.length; i++) {
                        y[i] = ba.act().apply(x[i] + (bias == null ? 0f : bias[(int) (i % ba.cols())]));
                    }
                }
                case ExecutionPlan.Unary u -> {
                    float[] x = (float[]) slots[u.in()];
                    float[] y = (float[]) slots[u.out()];
                    for (int i = 0; i < x.length; i++) {
                        y[i] = u.act().apply(x[i]);
                    }
                }
                case ExecutionPlan.AddSame ad -> {
                    float[] a = (float[]) slots[ad.a()];
                    float[] b = (float[]) slots[ad.b()];
                    float[] y = (float[]) slots[ad.out()];
                    for (int i = 0; i < a.length; i++) {
                        y[i] = a[i] + b[i];
                    }
                }
                case ExecutionPlan.Softmax sm -> {
                    float[] x = (float[]) slots[sm.in()];
                    float[] y = (float[]) slots[sm.out()];
                    int cols = (int) sm.cols();
                    for (int r = 0; r < x.length / cols; r++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int c = 0; c < cols; c++) {
                            max = Math.max(max, x[r * cols + c]);
                        }
                        double sum = 0;
                        for (int c = 0; c < cols; c++) {
                            sum += Math.exp(x[r * cols + c] - max);
                        }
                        for (int c = 0; c < cols; c++) {
                            y[r * cols + c] = (float) (Math.exp(x[r * cols + c] - max) / sum);
                        }
                    }
                }
                case ExecutionPlan.Gather ga -> {
                    long[] ids = (long[]) slots[ga.ids()];
                    float[] table = plan.weights().get(ga.table()).data();
                    float[] out = (float[]) slots[ga.out()];
                    int dim = (int) ga.dim();
                    for (int i = 0; i < ids.length; i++) {
                        long id = ids[i] < 0 ? ids[i] + ga.vocab() : ids[i];
                        if (id < 0 || id >= ga.vocab()) {
                            throw new IllegalArgumentException("index out of range: " + ids[i]);
                        }
                        System.arraycopy(table, (int) id * dim, out, i * dim, dim);
                    }
                }
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Binding b : plan.outputs()) {
            long[] shape = b.spec().shape();
            shape[0] = rows;
            out.put(b.name(), Tensor.ofFloats(shape, ((float[]) slots[b.slot()]).clone()));
        }
        return out;
    }

}
