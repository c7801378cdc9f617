package io.weir.gateway.grpc;

import com.google.protobuf.ByteString;
import io.weir.gateway.InputShapes;
import io.weir.gateway.grpc.proto.inference.InferTensorContents;
import io.weir.gateway.grpc.proto.inference.ModelInferRequest;
import io.weir.gateway.grpc.proto.inference.ModelInferResponse;
import io.weir.runtime.DataType;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.WeirException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * KServe v2 gRPC tensors to and from runtime {@link Tensor}s, with the same edge validation and messages as the REST
 * API (name, datatype, shape against the model's declared inputs; one batch size; finite FP32). Inputs come either as
 * typed contents ({@code fp32_contents}, {@code int64_contents}, {@code bytes_contents}) or as
 * {@code raw_input_contents} (little-endian, BYTES elements each prefixed by a 4-byte little-endian length, as Triton
 * clients send them). Stateless.
 */
final class GrpcTensors {

    private GrpcTensors() {
    }

    static Map<String, Tensor> inputs(ModelInferRequest request, ModelConfig config) {
        if (request.getInputsCount() == 0) {
            throw WeirException.invalid("inputs must be a non-empty list");
        }
        boolean raw = request.getRawInputContentsCount() > 0;
        if (raw && request.getRawInputContentsCount() != request.getInputsCount()) {
            throw WeirException.invalid("raw_input_contents has " + request.getRawInputContentsCount()
                    + " entries but there are " + request.getInputsCount() + " inputs");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        int rows = -1;
        for (int i = 0; i < request.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor t = request.getInputs(i);
            String name = t.getName();
            if (name.isEmpty()) {
                throw WeirException.invalid("inputs[" + i + "].name must be set");
            }
            TensorSpec spec = config.input(name).orElseThrow(() -> WeirException.invalid("unknown input '" + name
                    + "'; the model takes " + config.inputs().stream().map(TensorSpec::name).toList()));
            if (tensors.containsKey(name)) {
                throw WeirException.invalid("input '" + name + "' given twice");
            }
            DataType type = DataType.fromV2(t.getDatatype());
            if (type != spec.dataType()) {
                throw WeirException.invalid("input '" + name + "' has datatype " + t.getDatatype() + "; the model expects " + spec.dataType());
            }
            long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
            int count = InputShapes.check(name, shape, spec, rows, Arrays::toString);
            rows = (int) shape[0];
            if (raw) {
                if (t.hasContents()) {
                    throw WeirException.invalid("input '" + name + "' has contents although raw_input_contents is used");
                }
                tensors.put(name, fromRaw(name, type, shape, count, request.getRawInputContents(i)));
            } else {
                tensors.put(name, fromContents(name, type, shape, count, t.getContents()));
            }
        }
        for (TensorSpec spec : config.inputs()) {
            if (!tensors.containsKey(spec.name())) {
                throw WeirException.invalid("missing input '" + spec.name() + "'");
            }
        }
        return tensors;
    }

    private static Tensor fromContents(String name, DataType type, long[] shape, int count, InferTensorContents c) {
        int given = switch (type) {
            case FP32 -> c.getFp32ContentsCount();
            case INT64 -> c.getInt64ContentsCount();
            case BYTES -> c.getBytesContentsCount();
        };
        int total = c.getBoolContentsCount() + c.getIntContentsCount() + c.getInt64ContentsCount() + c.getUintContentsCount()
                + c.getUint64ContentsCount() + c.getFp32ContentsCount() + c.getFp64ContentsCount() + c.getBytesContentsCount();
        if (total != given) {
            throw WeirException.invalid("input '" + name + "' is " + type + "; its values belong in "
                    + contentsField(type) + " only");
        }
        if (given != count) {
            throw WeirException.invalid("input '" + name + "' has " + given + " values but shape " + Arrays.toString(shape) + " needs " + count);
        }
        return switch (type) {
            case FP32 -> {
                float[] f = new float[count];
                for (int i = 0; i < count; i++) {
                    f[i] = c.getFp32Contents(i);
                }
                yield Tensor.ofFloats(shape, finite(name, f));
            }
            case INT64 -> {
                long[] l = new long[count];
                for (int i = 0; i < count; i++) {
                    l[i] = c.getInt64Contents(i);
                }
                yield Tensor.ofLongs(shape, l);
            }
            case BYTES -> {
                byte[][] b = new byte[count][];
                for (int i = 0; i < count; i++) {
                    b[i] = c.getBytesContents(i).toByteArray();
                }
                yield Tensor.ofBytes(shape, b);
            }
        };
    }

    private static Tensor fromRaw(String name, DataType type, long[] shape, int count, ByteString raw) {
        ByteBuffer in = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case FP32 -> {
                requireBytes(name, raw.size(), (long) count * Float.BYTES);
                float[] f = new float[count];
                in.asFloatBuffer().get(f);
                return Tensor.ofFloats(shape, finite(name, f));
            }
            case INT64 -> {
                requireBytes(name, raw.size(), (long) count * Long.BYTES);
                long[] l = new long[count];
                in.asLongBuffer().get(l);
                return Tensor.ofLongs(shape, l);
            }
            case BYTES -> {
                byte[][] b = new byte[count][];
                for (int i = 0; i < count; i++) {
                    if (in.remaining() < 4) {
                        throw WeirException.invalid("raw contents of input '" + name + "' end before element " + i + " of " + count);
                    }
                    int len = in.getInt();
                    if (len < 0 || len > in.remaining()) {
                        throw WeirException.invalid("raw contents of input '" + name + "': element " + i + " claims " + len + " bytes");
                    }
                    b[i] = new byte[len];
                    in.get(b[i]);
                }
                if (in.hasRemaining()) {
                    throw WeirException.invalid("raw contents of input '" + name + "' hold more than " + count + " elements");
                }
                return Tensor.ofBytes(shape, b);
            }
            default -> throw new IllegalStateException();
        }
    }

    private static void requireBytes(String name, int given, long needed) {
        if (given != needed) {
            throw WeirException.invalid("raw contents of input '" + name + "' have " + given + " bytes; the shape needs " + needed);
        }
    }

    private static float[] finite(String name, float[] f) {
        for (int i = 0; i < f.length; i++) {
            if (!Float.isFinite(f[i])) {
                throw WeirException.invalid("input '" + name + "' value " + i + " is not a finite FP32 number");
            }
        }
        return f;
    }

    private static String contentsField(DataType type) {
        return switch (type) {
            case FP32 -> "fp32_contents";
            case INT64 -> "int64_contents";
            case BYTES -> "bytes_contents";
        };
    }

    /** Names of the outputs to return: the requested ones (validated), else all the model's. */
    static List<String> requestedOutputs(ModelInferRequest request, ModelConfig config) {
        if (request.getOutputsCount() == 0) {
            return config.outputs().stream().map(TensorSpec::name).toList();
        }
        return request.getOutputsList().stream().map(o -> {
            if (config.output(o.getName()).isEmpty()) {
                throw WeirException.invalid("unknown output '" + o.getName() + "'; the model has "
                        + config.outputs().stream().map(TensorSpec::name).toList());
            }
            return o.getName();
        }).toList();
    }

    /** Adds one output, as typed contents or (when the client sent raw inputs) as raw little-endian bytes. */
    static void addOutput(ModelInferResponse.Builder response, String name, Tensor t, boolean raw) {
        ModelInferResponse.InferOutputTensor.Builder out = ModelInferResponse.InferOutputTensor.newBuilder()
                .setName(name).setDatatype(t.dataType().name());
        for (long d : t.shape()) {
            out.addShape(d);
        }
        if (raw) {
            response.addOutputs(out).addRawOutputContents(toRaw(t));
            return;
        }
        InferTensorContents.Builder c = InferTensorContents.newBuilder();
        switch (t.dataType()) {
            case FP32 -> {
                for (float f : t.floats()) {
                    c.addFp32Contents(f);
                }
            }
            case INT64 -> {
                for (long l : t.longs()) {
                    c.addInt64Contents(l);
                }
            }
            case BYTES -> {
                for (byte[] b : t.bytes()) {
                    c.addBytesContents(ByteString.copyFrom(b));
                }
            }
        }
        response.addOutputs(out.setContents(c));
    }

    static ByteString toRaw(Tensor t) {
        return switch (t.dataType()) {
            case FP32 -> {
                ByteBuffer b = ByteBuffer.allocate(t.length() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(t.floats());
                yield ByteString.copyFrom(b.array());
            }
            case INT64 -> {
                ByteBuffer b = ByteBuffer.allocate(t.length() * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asLongBuffer().put(t.longs());
                yield ByteString.copyFrom(b.array());
            }
            case BYTES -> {
                int size = 0;
                for (byte[] e : t.bytes()) {
                    size += 4 + e.length;
                }
                ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
                for (byte[] e : t.bytes()) {
                    b.putInt(e.length).put(e);
                }
                yield ByteString.copyFrom(b.array());
            }
        };
    }
}
