package io.weir.runtime.cuda;

import com.google.protobuf.InvalidProtocolBufferException;
import io.weir.nativebindings.Activation;
import io.weir.runtime.DataType;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.cuda.ExecutionPlan.AddSame;
import io.weir.runtime.cuda.ExecutionPlan.BiasActivation;
import io.weir.runtime.cuda.ExecutionPlan.Binding;
import io.weir.runtime.cuda.ExecutionPlan.ElemType;
import io.weir.runtime.cuda.ExecutionPlan.Gather;
import io.weir.runtime.cuda.ExecutionPlan.Gemm;
import io.weir.runtime.cuda.ExecutionPlan.Slot;
import io.weir.runtime.cuda.ExecutionPlan.Softmax;
import io.weir.runtime.cuda.ExecutionPlan.Step;
import io.weir.runtime.cuda.ExecutionPlan.Unary;
import io.weir.runtime.cuda.ExecutionPlan.Weight;
import io.weir.runtime.onnx.proto.Onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns an ONNX model into an {@link ExecutionPlan} for the CUDA backend, or refuses it with a
 * {@link ModelLoadException} that names the first thing it does not support (the registry then
 * serves the model on the CPU).
 *
 * <p>Supported: the default ONNX domain with fp32 activations whose first dimension is the batch;
 * MatMul and Gemm with a constant right-hand side (Gemm: {@code transA=0}, any {@code transB},
 * {@code alpha}, {@code beta}, bias C of shape [N], [1,N] or [1]); Add of two same-shape values or of
 * a value and a constant broadcast over its trailing dimensions; Relu, Sigmoid, Tanh; Softmax over
 * the last axis; Gather (axis 0) of a constant fp32 table by int64 graph-input ids; Identity,
 * Flatten (axis 1) and Reshape (constant shape, batch dimension kept) as zero-copy aliases.
 * Gemm/MatMul followed by a bias Add and/or an activation whose intermediate has no other reader
 * is fused into one GEMM plus one epilogue kernel.
 *
 * <p>Stateless: {@link #compile} may be called from any thread.
 */
final class OnnxPlanCompiler {

    private OnnxPlanCompiler() {
    }

    /** A value of the graph during compilation. */
    private static final class Value {
        final String name;
        final long[] dims;          // dims[0] == -1 for batch values
        final ElemType type;
        int slot = -1;              // batch values
        float[] constF32;           // fp32 initializers
        long[] constI64;            // int64 initializers
        int weight = -1;            // index into weights once a step uses the constant

        Value(String name, long[] dims, ElemType type) {
            this.name = name;
            this.dims = dims;
            this.type = type;
        }

        boolean isConstant() {
            return constF32 != null || constI64 != null;
        }

        long width() {
            long w = 1;
            for (int i = 1; i < dims.length; i++) {
                w *= dims[i];
            }
            return w;
        }

        long lastDim() {
            return dims[dims.length - 1];
        }
    }

    private static final class Builder {
        final ModelKey key;
        final Map<String, Value> values = new HashMap<>();
        final List<Slot> slots = new ArrayList<>();
        final List<Weight> weights = new ArrayList<>();
        final List<Step> steps = new ArrayList<>();
        final List<String> fusions = new ArrayList<>();
        long opset = 1;

        Builder(ModelKey key) {
            this.key = key;
        }

        ModelLoadException refuse(String message) {
            return new ModelLoadException(key, "CUDA backend does not support this model: " + message);
        }

        int newSlot(long width, ElemType type) {
            slots.add(new Slot(width, type));
            return slots.size() - 1;
        }

        Value batchValue(String name, long[] dims, ElemType type) throws ModelLoadException {
            if (values.containsKey(name)) {
                throw refuse("value '" + name + "' is defined twice");
            }
            Value v = new Value(name, dims, type);
            v.slot = newSlot(v.width(), type);
            values.put(name, v);
            return v;
        }

        Value alias(String name, Value of, long[] dims) throws ModelLoadException {
            if (values.containsKey(name)) {
                throw refuse("value '" + name + "' is defined twice");
            }
            Value v = new Value(name, dims, of.type);
            v.slot = of.slot;
            values.put(name, v);
            return v;
        }

        Value get(Onnx.NodeProto node, int index) throws ModelLoadException {
            if (index >= node.getInputCount() || node.getInput(index).isEmpty()) {
                throw refuse(node.getOpType() + " node '" + node.getName() + "' lacks input " + index);
            }
            Value v = values.get(node.getInput(index));
            if (v == null) {
                throw refuse(node.getOpType() + " node '" + node.getName() + "' reads '" + node.getInput(index)
                        + "' before it is defined (graph not topologically sorted?)");
            }
            return v;
        }

        Value activation(Onnx.NodeProto node, int index) throws ModelLoadException {
            Value v = get(node, index);
            if (v.isConstant()) {
                throw refuse(node.getOpType() + " node '" + node.getName() + "' has a constant where a batch value is needed ('"
                        + v.name + "')");
            }
            if (v.type != ElemType.F32) {
                throw refuse(node.getOpType() + " node '" + node.getName() + "' reads int64 value '" + v.name + "'");
            }
            return v;
        }

        int weightOf(Value constant) {
            if (constant.weight < 0) {
                weights.add(new Weight(constant.name, constant.dims, constant.constF32));
                constant.weight = weights.size() - 1;
            }
            return constant.weight;
        }

        int addWeight(String name, long[] dims, float[] data) {
            weights.add(new Weight(name, dims, data));
            return weights.size() - 1;
        }
    }

    static ExecutionPlan compile(ModelKey key, ModelConfig config, byte[] onnx) throws ModelLoadException {
        Onnx.ModelProto model;
        try {
            model = Onnx.ModelProto.parseFrom(onnx);
        } catch (InvalidProtocolBufferException e) {
            throw new ModelLoadException(key, "model.onnx is not a valid ONNX protobuf: " + e.getMessage(), e);
        }
        Builder b = new Builder(key);
        for (Onnx.OperatorSetIdProto op : model.getOpsetImportList()) {
            if (op.getDomain().isEmpty() || op.getDomain().equals("ai.onnx")) {
                b.opset = op.getVersion();
            }
        }
        Onnx.GraphProto g = model.getGraph();

        Set<String> initializerNames = new HashSet<>();
        for (Onnx.TensorProto t : g.getInitializerList()) {
            initializerNames.add(t.getName());
            b.values.put(t.getName(), constant(b, t));
        }

        // Graph inputs: declared by the config, checked against the graph's own value info.
        Map<String, Onnx.ValueInfoProto> graphInputs = new LinkedHashMap<>();
        for (Onnx.ValueInfoProto vi : g.getInputList()) {
            if (!initializerNames.contains(vi.getName())) {
                graphInputs.put(vi.getName(), vi);
            }
        }
        checkSignature(b, "input", config.inputs(), graphInputs);
        List<Binding> inputs = new ArrayList<>();
        for (TensorSpec spec : config.inputs()) {
            ElemType type = switch (spec.dataType()) {
                case FP32 -> ElemType.F32;
                case INT64 -> ElemType.I64;
                case BYTES -> throw b.refuse("input '" + spec.name() + "' is BYTES (strings stay on the CPU)");
            };
            Value v = b.batchValue(spec.name(), spec.shape(), type);
            inputs.add(new Binding(spec.name(), v.slot, spec));
        }

        for (Onnx.NodeProto node : g.getNodeList()) {
            compileNode(b, node);
        }

        Map<String, Onnx.ValueInfoProto> graphOutputs = new LinkedHashMap<>();
        for (Onnx.ValueInfoProto vi : g.getOutputList()) {
            graphOutputs.put(vi.getName(), vi);
        }
        checkSignature(b, "output", config.outputs(), graphOutputs);
        List<Binding> outputs = new ArrayList<>();
        for (TensorSpec spec : config.outputs()) {
            if (spec.dataType() != DataType.FP32) {
                throw b.refuse("output '" + spec.name() + "' is " + spec.dataType() + "; only FP32 outputs run on the GPU");
            }
            Value v = b.values.get(spec.name());
            if (v == null || v.isConstant()) {
                throw b.refuse("output '" + spec.name() + "' is not computed from the inputs");
            }
            if (v.type != ElemType.F32 || v.width() != spec.rowWidth()) {
                throw b.refuse("output '" + spec.name() + "' computes " + Arrays.toString(v.dims) + " but is declared " + spec);
            }
            outputs.add(new Binding(spec.name(), v.slot, spec));
        }

        List<Step> fused = fuse(b, inputs, outputs);
        return compact(new ExecutionPlan(b.slots, inputs, outputs, b.weights, fused, b.fusions));
    }

    private static void checkSignature(Builder b, String kind, List<TensorSpec> declared,
                                       Map<String, Onnx.ValueInfoProto> actual) throws ModelLoadException {
        if (declared.size() != actual.size()) {
            throw new ModelLoadException(b.key, "config declares " + declared.size() + " " + kind + "s but the graph has "
                    + actual.size() + " " + actual.keySet());
        }
        for (TensorSpec spec : declared) {
            Onnx.ValueInfoProto vi = actual.get(spec.name());
            if (vi == null) {
                throw new ModelLoadException(b.key, "declared " + kind + " '" + spec.name() + "' is not in the graph " + actual.keySet());
            }
            if (!vi.getType().hasTensorType()) {
                throw new ModelLoadException(b.key, kind + " '" + spec.name() + "' is not a tensor");
            }
            Onnx.TypeProto.Tensor tt = vi.getType().getTensorType();
            if (tt.getElemType() != spec.dataType().onnxType()) {
                throw new ModelLoadException(b.key, kind + " '" + spec.name() + "' has ONNX element type " + tt.getElemType()
                        + " but is declared " + spec.dataType());
            }
            long[] want = spec.shape();
            List<Onnx.TensorShapeProto.Dimension> dims = tt.getShape().getDimList();
            boolean ok = dims.size() == want.length && !dims.getFirst().hasDimValue();
            for (int i = 1; ok && i < want.length; i++) {
                ok = dims.get(i).hasDimValue() && dims.get(i).getDimValue() == want[i];
            }
            if (!ok) {
                throw new ModelLoadException(b.key, kind + " '" + spec.name() + "' is declared " + spec
                        + " but the graph's shape differs (the batch dimension must be symbolic)");
            }
        }
    }

    private static Value constant(Builder b, Onnx.TensorProto t) throws ModelLoadException {
        long[] dims = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : dims) {
            count *= d;
        }
        if (count > Integer.MAX_VALUE) {
            throw b.refuse("initializer '" + t.getName() + "' is too large");
        }
        int n = (int) count;
        if (t.getDataType() == Onnx.TensorProto.DataType.FLOAT_VALUE) {
            float[] data;
            if (t.hasRawData()) {
                if (t.getRawData().size() != 4L * n) {
                    throw b.refuse("initializer '" + t.getName() + "' has " + t.getRawData().size() + " raw bytes for " + n + " floats");
                }
                data = new float[n];
                t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
            } else {
                if (t.getFloatDataCount() != n) {
                    throw b.refuse("initializer '" + t.getName() + "' has " + t.getFloatDataCount() + " floats, dims need " + n);
                }
                data = new float[n];
                for (int i = 0; i < n; i++) {
                    data[i] = t.getFloatData(i);
                }
            }
            Value v = new Value(t.getName(), dims, ElemType.F32);
            v.constF32 = data;
            return v;
        }
        if (t.getDataType() == Onnx.TensorProto.DataType.INT64_VALUE) {
            long[] data = new long[n];
            if (t.hasRawData()) {
                if (t.getRawData().size() != 8L * n) {
                    throw b.refuse("initializer '" + t.getName() + "' has " + t.getRawData().size() + " raw bytes for " + n + " int64s");
                }
                ByteBuffer bb = t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                bb.asLongBuffer().get(data);
            } else {
                if (t.getInt64DataCount() != n) {
                    throw b.refuse("initializer '" + t.getName() + "' has " + t.getInt64DataCount() + " int64s, dims need " + n);
                }
                for (int i = 0; i < n; i++) {
                    data[i] = t.getInt64Data(i);
                }
            }
            Value v = new Value(t.getName(), dims, ElemType.I64);
            v.constI64 = data;
            return v;
        }
        throw b.refuse("initializer '" + t.getName() + "' has ONNX data type " + t.getDataType() + " (only float and int64)");
    }

    private static Onnx.AttributeProto attribute(Onnx.NodeProto node, String name) {
        for (Onnx.AttributeProto a : node.getAttributeList()) {
            if (a.getName().equals(name)) {
                return a;
            }
        }
        return null;
    }

    private static long intAttr(Onnx.NodeProto node, String name, long dflt) {
        Onnx.AttributeProto a = attribute(node, name);
        return a == null ? dflt : a.getI();
    }

    private static float floatAttr(Onnx.NodeProto node, String name, float dflt) {
        Onnx.AttributeProto a = attribute(node, name);
        return a == null ? dflt : a.getF();
    }

    private static void requireOutputs(Builder b, Onnx.NodeProto node, int n) throws ModelLoadException {
        if (node.getOutputCount() != n) {
            throw b.refuse(node.getOpType() + " node '" + node.getName() + "' has " + node.getOutputCount() + " outputs, expected " + n);
        }
    }

    private static void compileNode(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        if (!node.getDomain().isEmpty() && !node.getDomain().equals("ai.onnx")) {
            throw b.refuse("operator " + node.getDomain() + "." + node.getOpType() + " (only the default ONNX domain)");
        }
        switch (node.getOpType()) {
            case "Gemm" -> gemm(b, node);
            case "MatMul" -> matMul(b, node);
            case "Add" -> add(b, node);
            case "Relu" -> unary(b, node, Activation.RELU);
            case "Sigmoid" -> unary(b, node, Activation.SIGMOID);
            case "Tanh" -> unary(b, node, Activation.TANH);
            case "Softmax" -> softmax(b, node);
            case "Gather" -> gather(b, node);
            case "Identity" -> {
                requireOutputs(b, node, 1);
                Value in = b.get(node, 0);
                if (in.isConstant()) {
                    throw b.refuse("Identity of constant '" + in.name + "'");
                }
                b.alias(node.getOutput(0), in, in.dims);
            }
            case "Flatten" -> {
                requireOutputs(b, node, 1);
                Value in = b.activation(node, 0);
                long axis = intAttr(node, "axis", 1);
                if (axis < 0) {
                    axis += in.dims.length;
                }
                if (axis != 1) {
                    throw b.refuse("Flatten with axis " + intAttr(node, "axis", 1) + " (only axis 1 keeps the batch dimension)");
                }
                b.alias(node.getOutput(0), in, new long[] {-1, in.width()});
            }
            case "Reshape" -> reshape(b, node);
            default -> throw b.refuse("operator " + node.getOpType() + " (node '" + node.getName() + "')");
        }
    }

    private static void gemm(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value a = b.activation(node, 0);
        Value w = b.get(node, 1);
        if (intAttr(node, "transA", 0) != 0) {
            throw b.refuse("Gemm with transA=1 on a batch input (node '" + node.getName() + "')");
        }
        if (w.constF32 == null || w.dims.length != 2) {
            throw b.refuse("Gemm whose B is not a constant fp32 matrix (node '" + node.getName() + "')");
        }
        if (a.dims.length != 2) {
            throw b.refuse("Gemm on a rank-" + a.dims.length + " input (node '" + node.getName() + "')");
        }
        boolean transB = intAttr(node, "transB", 0) != 0;
        long k = transB ? w.dims[1] : w.dims[0];
        long n = transB ? w.dims[0] : w.dims[1];
        if (a.dims[1] != k) {
            throw b.refuse("Gemm inner dimensions differ: " + Arrays.toString(a.dims) + " x " + Arrays.toString(w.dims)
                    + (transB ? "^T" : ""));
        }
        float alpha = floatAttr(node, "alpha", 1f);
        float beta = floatAttr(node, "beta", 1f);
        int bias = -1;
        if (node.getInputCount() > 2 && !node.getInput(2).isEmpty()) {
            Value c = b.get(node, 2);
            if (c.constF32 == null) {
                throw b.refuse("Gemm with a non-constant C (node '" + node.getName() + "')");
            }
            long cn = 1;
            for (long d : c.dims) {
                cn *= d;
            }
            boolean rowVector = (c.dims.length == 1 && c.dims[0] == n) || (c.dims.length == 2 && c.dims[0] == 1 && c.dims[1] == n);
            boolean scalar = cn == 1;
            if (!rowVector && !scalar) {
                throw b.refuse("Gemm C of shape " + Arrays.toString(c.dims) + " (only [N], [1,N] or a scalar broadcast)");
            }
            float[] scaled = new float[Math.toIntExact(n)];
            for (int j = 0; j < n; j++) {
                scaled[j] = beta * c.constF32[scalar ? 0 : j];
            }
            if (beta != 0f) {
                bias = (beta == 1f && rowVector) ? b.weightOf(c) : b.addWeight(c.name + "*beta", new long[] {n}, scaled);
            }
        }
        Value out = b.batchValue(node.getOutput(0), new long[] {-1, n}, ElemType.F32);
        b.steps.add(new Gemm(a.slot, b.weightOf(w), transB, 1, Math.toIntExact(k), Math.toIntExact(n), alpha, bias,
                Activation.NONE, out.slot));
    }

    private static void matMul(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value a = b.activation(node, 0);
        Value w = b.get(node, 1);
        if (w.constF32 == null || w.dims.length != 2) {
            throw b.refuse("MatMul whose right operand is not a constant fp32 matrix (node '" + node.getName() + "')");
        }
        if (a.dims.length < 2 || a.lastDim() != w.dims[0]) {
            throw b.refuse("MatMul dimensions differ: " + Arrays.toString(a.dims) + " x " + Arrays.toString(w.dims));
        }
        long rowMul = 1;
        for (int i = 1; i < a.dims.length - 1; i++) {
            rowMul *= a.dims[i];
        }
        long[] outDims = a.dims.clone();
        outDims[outDims.length - 1] = w.dims[1];
        Value out = b.batchValue(node.getOutput(0), outDims, ElemType.F32);
        b.steps.add(new Gemm(a.slot, b.weightOf(w), false, Math.toIntExact(rowMul), Math.toIntExact(w.dims[0]),
                Math.toIntExact(w.dims[1]), 1f, -1, Activation.NONE, out.slot));
    }

    private static void add(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value x = b.get(node, 0);
        Value y = b.get(node, 1);
        if (x.isConstant() && !y.isConstant()) {
            Value t = x;
            x = y;
            y = t;
        }
        if (x.isConstant() || x.type != ElemType.F32 || y.type != ElemType.F32) {
            throw b.refuse("Add of " + (x.isConstant() ? "two constants" : "int64 values") + " (node '" + node.getName() + "')");
        }
        if (!y.isConstant()) {
            if (!Arrays.equals(x.dims, y.dims)) {
                throw b.refuse("Add of batch values with shapes " + Arrays.toString(x.dims) + " and " + Arrays.toString(y.dims));
            }
            Value out = b.batchValue(node.getOutput(0), x.dims, ElemType.F32);
            b.steps.add(new AddSame(x.slot, y.slot, out.slot));
            return;
        }
        // Constant: drop leading 1s; what is left must equal the trailing dimensions of x.
        int lead = 0;
        while (lead < y.dims.length - 1 && y.dims[lead] == 1) {
            lead++;
        }
        long[] core = Arrays.copyOfRange(y.dims, lead, y.dims.length);
        long[] tail = Arrays.copyOfRange(x.dims, Math.max(1, x.dims.length - core.length), x.dims.length);
        long cols = 1;
        for (long d : core) {
            cols *= d;
        }
        boolean scalar = cols == 1;
        if (!scalar && (core.length > x.dims.length - 1 || !Arrays.equals(core, tail))) {
            throw b.refuse("Add broadcasting " + Arrays.toString(y.dims) + " over " + Arrays.toString(x.dims)
                    + " (only over trailing dimensions)");
        }
        Value out = b.batchValue(node.getOutput(0), x.dims, ElemType.F32);
        int bias;
        if (scalar) {
            long last = x.lastDim();
            float[] row = new float[Math.toIntExact(last)];
            Arrays.fill(row, y.constF32[0]);
            bias = b.addWeight(y.name + "*broadcast", new long[] {last}, row);
            cols = last;
        } else {
            bias = b.weightOf(y);
        }
        b.steps.add(new BiasActivation(x.slot, bias, cols, Activation.NONE, out.slot));
    }

    private static void unary(Builder b, Onnx.NodeProto node, Activation act) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value in = b.activation(node, 0);
        Value out = b.batchValue(node.getOutput(0), in.dims, ElemType.F32);
        b.steps.add(new Unary(in.slot, act, out.slot));
    }

    private static void softmax(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value in = b.activation(node, 0);
        int rank = in.dims.length;
        long axis = intAttr(node, "axis", b.opset >= 13 ? -1 : 1);
        if (axis < 0) {
            axis += rank;
        }
        // Opset < 13 flattens to 2-D at `axis`; that equals a last-axis softmax exactly when axis is the last one.
        if (axis != rank - 1) {
            throw b.refuse("Softmax over axis " + intAttr(node, "axis", b.opset >= 13 ? -1 : 1) + " of a rank-" + rank
                    + " value (only the last axis)");
        }
        Value out = b.batchValue(node.getOutput(0), in.dims, ElemType.F32);
        b.steps.add(new Softmax(in.slot, in.lastDim(), out.slot));
    }

    private static void gather(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value table = b.get(node, 0);
        Value ids = b.get(node, 1);
        if (intAttr(node, "axis", 0) != 0) {
            throw b.refuse("Gather with axis " + intAttr(node, "axis", 0) + " (only 0, an embedding lookup)");
        }
        if (table.constF32 == null || table.dims.length < 2) {
            throw b.refuse("Gather from something other than a constant fp32 table (node '" + node.getName() + "')");
        }
        if (ids.isConstant() || ids.type != ElemType.I64) {
            throw b.refuse("Gather whose indices are not an int64 batch input (node '" + node.getName() + "')");
        }
        long dim = 1;
        for (int i = 1; i < table.dims.length; i++) {
            dim *= table.dims[i];
        }
        long[] outDims = new long[ids.dims.length + table.dims.length - 1];
        System.arraycopy(ids.dims, 0, outDims, 0, ids.dims.length);
        System.arraycopy(table.dims, 1, outDims, ids.dims.length, table.dims.length - 1);
        Value out = b.batchValue(node.getOutput(0), outDims, ElemType.F32);
        b.steps.add(new Gather(b.weightOf(table), ids.slot, ids.width(), dim, table.dims[0], out.slot));
    }

    private static void reshape(Builder b, Onnx.NodeProto node) throws ModelLoadException {
        requireOutputs(b, node, 1);
        Value in = b.activation(node, 0);
        Value shape = b.get(node, 1);
        if (shape.constI64 == null) {
            throw b.refuse("Reshape to a computed shape (node '" + node.getName() + "')");
        }
        long[] s = shape.constI64;
        if (s.length == 0 || (s[0] != -1 && s[0] != 0)) {
            throw b.refuse("Reshape to " + Arrays.toString(s) + " (the batch dimension must stay first: -1 or 0)");
        }
        long[] dims = s.clone();
        dims[0] = -1;
        long width = 1;
        for (int i = 1; i < dims.length; i++) {
            if (dims[i] == 0 && i < in.dims.length) {
                dims[i] = in.dims[i];
            }
            if (dims[i] <= 0) {
                throw b.refuse("Reshape to " + Arrays.toString(s) + " (non-batch dimensions must be known)");
            }
            width *= dims[i];
        }
        if (width != in.width()) {
            throw b.refuse("Reshape of " + Arrays.toString(in.dims) + " to " + Arrays.toString(s) + " changes the row size");
        }
        b.alias(node.getOutput(0), in, dims);
    }

    /**
     * Peephole fusion: a Gemm whose output slot has exactly one reader, which is a bias add
     * (when the Gemm has no bias) or an activation (when it has none yet), absorbs that step,
     * provided the intermediate is no graph output and no input.
     */
    private static List<Step> fuse(Builder b, List<Binding> inputs, List<Binding> outputs) {
        List<Step> steps = new ArrayList<>(b.steps);
        Set<Integer> pinned = new HashSet<>();
        inputs.forEach(i -> pinned.add(i.slot()));
        outputs.forEach(o -> pinned.add(o.slot()));
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int i = 0; i < steps.size() && !changed; i++) {
                if (!(steps.get(i) instanceof Gemm g) || pinned.contains(g.out())) {
                    continue;
                }
                int readerIndex = -1;
                int readers = 0;
                for (int j = 0; j < steps.size(); j++) {
                    if (steps.get(j).reads().contains(g.out())) {
                        readers++;
                        readerIndex = j;
                    }
                }
                if (readers != 1 || readerIndex <= i) {
                    continue;
                }
                Step r = steps.get(readerIndex);
                Step merged = null;
                if (r instanceof BiasActivation ba && g.bias() < 0 && g.act() == Activation.NONE && ba.cols() == g.n()) {
                    merged = new Gemm(g.in(), g.weight(), g.transB(), g.rowMul(), g.k(), g.n(), g.alpha(), ba.bias(), ba.act(), ba.out());
                    b.fusions.add("Gemm+Add" + (ba.act() == Activation.NONE ? "" : "+" + ba.act()));
                } else if (r instanceof Unary u && g.act() == Activation.NONE) {
                    merged = g.withActivation(u.act(), u.out());
                    b.fusions.add("Gemm+" + u.act());
                }
                if (merged != null) {
                    steps.set(i, merged);
                    steps.remove(readerIndex);
                    changed = true;
                }
            }
        }
        return steps;
    }

    /** Drops slots no step, input or output refers to and renumbers the rest densely. */
    private static ExecutionPlan compact(ExecutionPlan p) {
        Set<Integer> used = new HashSet<>();
        p.inputs().forEach(i -> used.add(i.slot()));
        p.outputs().forEach(o -> used.add(o.slot()));
        for (Step s : p.steps()) {
            used.addAll(s.reads());
            used.add(s.out());
        }
        int[] map = new int[p.slots().size()];
        List<Slot> slots = new ArrayList<>();
        for (int i = 0; i < map.length; i++) {
            if (used.contains(i)) {
                map[i] = slots.size();
                slots.add(p.slots().get(i));
            } else {
                map[i] = -1;
            }
        }
        List<Step> steps = new ArrayList<>();
        for (Step s : p.steps()) {
            steps.add(switch (s) {
                case Gemm g -> new Gemm(map[g.in()], g.weight(), g.transB(), g.rowMul(), g.k(), g.n(), g.alpha(), g.bias(),
                        g.act(), map[g.out()]);
                case BiasActivation ba -> new BiasActivation(map[ba.in()], ba.bias(), ba.cols(), ba.act(), map[ba.out()]);
                case Unary u -> new Unary(map[u.in()], u.act(), map[u.out()]);
                case AddSame a -> new AddSame(map[a.a()], map[a.b()], map[a.out()]);
                case Softmax sm -> new Softmax(map[sm.in()], sm.cols(), map[sm.out()]);
                case Gather ga -> new Gather(ga.table(), map[ga.ids()], ga.idsPerRow(), ga.dim(), ga.vocab(), map[ga.out()]);
            });
        }
        List<Binding> inputs = p.inputs().stream().map(i -> new Binding(i.name(), map[i.slot()], i.spec())).toList();
        List<Binding> outputs = p.outputs().stream().map(o -> new Binding(o.name(), map[o.slot()], o.spec())).toList();
        return new ExecutionPlan(slots, inputs, outputs, p.weights(), steps, p.fusions());
    }
}
