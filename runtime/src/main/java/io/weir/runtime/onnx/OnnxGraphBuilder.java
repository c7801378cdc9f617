package io.weir.runtime.onnx;

import com.google.protobuf.ByteString;
import io.weir.runtime.DataType;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.onnx.proto.Onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes small ONNX models (IR version 8, default-domain opset 17) with Weir's own ONNX protobuf subset, so the demo
 * models and test fixtures need no Python toolchain.
 *
 * <p>Graph inputs and outputs take their shape from a {@link TensorSpec}: the batch dimension becomes the symbolic
 * {@code dim_param "batch"}, the others fixed {@code dim_value}s. Weights are initializers stored as little-endian
 * {@code raw_data}. The graph is checked as it is built: every node input must already exist (graph input,
 * initializer or an earlier node's output), every value is defined once, and every graph output must be produced.
 *
 * <p>The same calls always give the same bytes: nodes, initializers and metadata keep the order they were added in,
 * node names are numbered in that order, and nothing depends on time, host or hash order.
 *
 * <p>Not thread-safe; one builder writes one model.
 */
public final class OnnxGraphBuilder {
    public static final long IR_VERSION = 8;
    public static final long OPSET_VERSION = 17;
    /** The {@code dim_param} of every graph input's and output's first dimension. */
    public static final String BATCH_DIM = "batch";

    /** A node attribute. */
    public record Attribute(Onnx.AttributeProto proto) {
        public static Attribute ofInt(String name, long value) {
            return new Attribute(Onnx.AttributeProto.newBuilder().setName(name)
                    .setType(Onnx.AttributeProto.AttributeType.INT).setI(value).build());
        }

        public static Attribute ofFloat(String name, float value) {
            return new Attribute(Onnx.AttributeProto.newBuilder().setName(name)
                    .setType(Onnx.AttributeProto.AttributeType.FLOAT).setF(value).build());
        }
    }

    private final String graphName;
    private final List<Onnx.ValueInfoProto> inputs = new ArrayList<>();
    private final List<Onnx.ValueInfoProto> outputs = new ArrayList<>();
    private final List<Onnx.TensorProto> initializers = new ArrayList<>();
    private final List<Onnx.NodeProto> nodes = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Set<String> defined = new HashSet<>();
    private final Set<String> outputNames = new HashSet<>();
    private String producerName = "weir";
    private String producerVersion = "1";
    private String docString = "";

    public OnnxGraphBuilder(String graphName) {
        if (graphName == null || graphName.isBlank()) {
            throw new IllegalArgumentException("graph name must not be blank");
        }
        this.graphName = graphName;
    }

    /** Recorded in the model's {@code producer_name}/{@code producer_version}; defaults to {@code weir}, {@code 1}. */
    public OnnxGraphBuilder producer(String name, String version) {
        this.producerName = name;
        this.producerVersion = version;
        return this;
    }

    public OnnxGraphBuilder docString(String doc) {
        this.docString = doc;
        return this;
    }

    /** A {@code metadata_props} entry (ONNX Runtime exposes these as custom metadata). */
    public OnnxGraphBuilder metadata(String key, String value) {
        if (metadata.putIfAbsent(key, value) != null) {
            throw new IllegalArgumentException("metadata key '" + key + "' already set");
        }
        return this;
    }

    public OnnxGraphBuilder input(TensorSpec spec) {
        define(spec.name());
        inputs.add(valueInfo(spec));
        return this;
    }

    /** Declares a graph output; some node (or an input) must produce a value of that name before {@link #build()}. */
    public OnnxGraphBuilder output(TensorSpec spec) {
        if (!outputNames.add(spec.name())) {
            throw new IllegalArgumentException("output '" + spec.name() + "' declared twice");
        }
        outputs.add(valueInfo(spec));
        return this;
    }

    /** A float constant of the given dimensions, row-major. */
    public OnnxGraphBuilder initializer(String name, long[] dims, float[] values) {
        checkCount(name, dims, values.length);
        ByteBuffer buf = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return addInitializer(name, dims, Onnx.TensorProto.DataType.FLOAT, buf.array());
    }

    /** An int64 constant of the given dimensions, row-major. */
    public OnnxGraphBuilder initializer(String name, long[] dims, long[] values) {
        checkCount(name, dims, values.length);
        ByteBuffer buf = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asLongBuffer().put(values);
        return addInitializer(name, dims, Onnx.TensorProto.DataType.INT64, buf.array());
    }

    private OnnxGraphBuilder addInitializer(String name, long[] dims, Onnx.TensorProto.DataType type, byte[] raw) {
        define(name);
        Onnx.TensorProto.Builder t = Onnx.TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
                .setRawData(ByteString.copyFrom(raw));
        for (long d : dims) {
            t.addDims(d);
        }
        initializers.add(t.build());
        return this;
    }

    private static void checkCount(String name, long[] dims, int count) {
        long n = 1;
        for (long d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("initializer '" + name + "' has a negative dimension " + Arrays.toString(dims));
            }
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException("initializer '" + name + "' of dims " + Arrays.toString(dims) + " needs "
                    + n + " values, got " + count);
        }
    }

    /**
     * Appends a node of the default domain. Its inputs must exist already; its outputs become available to later
     * nodes. An empty input name stands for an omitted optional input, as in ONNX.
     */
    public OnnxGraphBuilder node(String opType, List<String> nodeInputs, List<String> nodeOutputs, Attribute... attributes) {
        if (nodeOutputs.isEmpty()) {
            throw new IllegalArgumentException(opType + " node must produce at least one output");
        }
        for (String in : nodeInputs) {
            if (!in.isEmpty() && !defined.contains(in)) {
                throw new IllegalArgumentException(opType + " node reads '" + in + "', which no input, initializer or earlier node defines");
            }
        }
        for (String out : nodeOutputs) {
            define(out);
        }
        Onnx.NodeProto.Builder n = Onnx.NodeProto.newBuilder()
                .setName(opType.toLowerCase(java.util.Locale.ROOT) + "_" + nodes.size())
                .setOpType(opType).setDomain("")
                .addAllInput(nodeInputs).addAllOutput(nodeOutputs);
        for (Attribute a : attributes) {
            n.addAttribute(a.proto());
        }
        nodes.add(n.build());
        return this;
    }

    /** {@code out = a · b + c} (ONNX Gemm, no transposes, alpha = beta = 1; {@code c} broadcasts, e.g. a bias [N]). */
    public OnnxGraphBuilder gemm(String a, String b, String c, String out) {
        return node("Gemm", List.of(a, b, c), List.of(out));
    }

    public OnnxGraphBuilder matMul(String a, String b, String out) {
        return node("MatMul", List.of(a, b), List.of(out));
    }

    public OnnxGraphBuilder add(String a, String b, String out) {
        return node("Add", List.of(a, b), List.of(out));
    }

    public OnnxGraphBuilder relu(String in, String out) {
        return node("Relu", List.of(in), List.of(out));
    }

    public OnnxGraphBuilder tanh(String in, String out) {
        return node("Tanh", List.of(in), List.of(out));
    }

    public OnnxGraphBuilder sigmoid(String in, String out) {
        return node("Sigmoid", List.of(in), List.of(out));
    }

    public OnnxGraphBuilder identity(String in, String out) {
        return node("Identity", List.of(in), List.of(out));
    }

    /** The model; throws IllegalStateException when a declared output is never produced or nothing is declared. */
    public Onnx.ModelProto build() {
        if (inputs.isEmpty() || outputs.isEmpty()) {
            throw new IllegalStateException("graph '" + graphName + "' needs at least one input and one output");
        }
        for (Onnx.ValueInfoProto out : outputs) {
            if (!defined.contains(out.getName())) {
                throw new IllegalStateException("graph output '" + out.getName() + "' is produced by no node");
            }
        }
        Onnx.GraphProto graph = Onnx.GraphProto.newBuilder()
                .setName(graphName)
                .addAllNode(nodes)
                .addAllInitializer(initializers)
                .addAllInput(inputs)
                .addAllOutput(outputs)
                .build();
        Onnx.ModelProto.Builder model = Onnx.ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(Onnx.OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET_VERSION))
                .setProducerName(producerName)
                .setProducerVersion(producerVersion)
                .setGraph(graph);
        if (!docString.isEmpty()) {
            model.setDocString(docString);
        }
        metadata.forEach((k, v) -> model.addMetadataProps(Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return model.build();
    }

    /** The serialized model: the bytes of {@code model.onnx}. */
    public byte[] toBytes() {
        return build().toByteArray();
    }

    private void define(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("value names must not be empty");
        }
        if (!defined.add(name)) {
            throw new IllegalArgumentException("value '" + name + "' is already defined; ONNX graphs assign each name once");
        }
    }

    private static Onnx.ValueInfoProto valueInfo(TensorSpec spec) {
        Onnx.TensorShapeProto.Builder shape = Onnx.TensorShapeProto.newBuilder();
        long[] dims = spec.shape();
        shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam(BATCH_DIM));
        for (int i = 1; i < dims.length; i++) {
            shape.addDim(Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(dims[i]));
        }
        return Onnx.ValueInfoProto.newBuilder()
                .setName(spec.name())
                .setType(Onnx.TypeProto.newBuilder().setTensorType(Onnx.TypeProto.Tensor.newBuilder()
                        .setElemType(onnxElemType(spec.dataType())).setShape(shape)))
                .build();
    }

    private static int onnxElemType(DataType t) {
        return switch (t) {
            case FP32 -> Onnx.TensorProto.DataType.FLOAT_VALUE;
            case INT64 -> Onnx.TensorProto.DataType.INT64_VALUE;
            case BYTES -> Onnx.TensorProto.DataType.STRING_VALUE;
        };
    }
}
