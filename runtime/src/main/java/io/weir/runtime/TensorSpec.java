package io.weir.runtime;

import java.util.Arrays;

/**
 * Declared name, type and shape of a model input or output. The first dimension is the batch dimension and is
 * dynamic ({@code -1}); the others are fixed.
 */
public record TensorSpec(String name, DataType dataType, long[] shape) {

    public TensorSpec {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("tensor name must not be blank");
        }
        if (dataType == null) {
            throw new IllegalArgumentException("tensor '" + name + "' has no datatype");
        }
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("tensor '" + name + "' needs a shape with a batch dimension");
        }
        if (shape[0] != -1) {
            throw new IllegalArgumentException("tensor '" + name + "': the first (batch) dimension must be -1");
        }
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new IllegalArgumentException("tensor '" + name + "': only the batch dimension may be dynamic");
            }
        }
        long width = 1;
        for (int i = 1; i < shape.length; i++) {
            width = shape[i] > Integer.MAX_VALUE / width ? Long.MAX_VALUE : width * shape[i];
        }
        if (width > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + name + "': a row of " + Arrays.toString(shape)
                    + " has more elements than an array holds");
        }
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Elements in one row (the product of the non-batch dimensions). */
    public int rowWidth() {
        long w = 1;
        for (int i = 1; i < shape.length; i++) {
            w = Math.multiplyExact(w, shape[i]);
        }
        return Math.toIntExact(w);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && t.name.equals(name) && t.dataType == dataType && Arrays.equals(t.shape, shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + ":" + dataType + Arrays.toString(shape);
    }
}
