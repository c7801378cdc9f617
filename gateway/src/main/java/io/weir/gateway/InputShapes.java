package io.weir.gateway;

import io.weir.runtime.TensorSpec;
import io.weir.runtime.WeirException;

import java.util.function.Function;

/**
 * The checks both KServe v2 APIs, REST and gRPC, make of an input's shape before reading its values: the model's
 * rank and row shape, at least one row, one batch size across the inputs, and at most {@link #MAX_VALUES} values.
 */
public final class InputShapes {
    /** The most values one input of a request may hold. */
    public static final long MAX_VALUES = 64L << 20;

    private InputShapes() {
    }

    /**
     * @param rows the batch size of the inputs checked before this one, -1 for the first
     * @param text how the API writes a shape in its messages
     * @return the input's value count (at most {@link #MAX_VALUES}, so an int)
     * @throws WeirException INVALID_ARGUMENT naming the input
     */
    public static int check(String name, long[] shape, TensorSpec spec, int rows, Function<long[], String> text) {
        long[] declared = spec.shape();
        if (shape.length != declared.length) {
            throw WeirException.invalid("input '" + name + "' has rank " + shape.length + "; the model expects shape " + text.apply(declared));
        }
        for (int d = 1; d < shape.length; d++) {
            if (shape[d] != declared[d]) {
                throw WeirException.invalid("input '" + name + "' has shape " + text.apply(shape) + "; the model expects " + text.apply(declared));
            }
        }
        if (shape[0] < 1) {
            throw WeirException.invalid("input '" + name + "' needs at least one row");
        }
        if (rows >= 0 && shape[0] != rows) {
            throw WeirException.invalid("all inputs must have the same batch size; '" + name + "' has " + shape[0] + ", others " + rows);
        }
        // Bounded at each step, so the product cannot wrap: the batch size (first) is the client's, any long; the
        // other dimensions are the model's. And before the batch size is taken as an int.
        long count = 1;
        for (long d : shape) {
            count *= d;
            if (count > MAX_VALUES) {
                throw WeirException.invalid("input '" + name + "' is too large: shape " + text.apply(shape)
                        + " is more than " + MAX_VALUES + " values");
            }
        }
        return (int) count;
    }
}
