package io.weir.runtime;

import java.util.Locale;

/** Tensor element types Weir serves; names are the KServe v2 datatype names. */
public enum DataType {
    FP32(4, 1),
    INT64(8, 7),
    BYTES(-1, 8);

    private final int byteSize;
    private final int onnxType;

    DataType(int byteSize, int onnxType) {
        this.byteSize = byteSize;
        this.onnxType = onnxType;
    }

    /** Size of one element in bytes, or -1 for variable-length BYTES. */
    public int byteSize() {
        return byteSize;
    }

    /** The ONNX {@code TensorProto.DataType} number. */
    public int onnxType() {
        return onnxType;
    }

    /** Parses a KServe v2 datatype name; {@code null} when Weir does not serve it. */
    public static DataType fromV2(String name) {
        if (name == null) {
            return null;
        }
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "FP32" -> FP32;
            case "INT64" -> INT64;
            case "BYTES" -> BYTES;
            default -> null;
        };
    }

    public static DataType fromOnnx(int onnxType) {
        for (DataType t : values()) {
            if (t.onnxType == onnxType) {
                return t;
            }
        }
        return null;
    }
}
