package io.weir.router.internal;

import io.weir.batcher.InferenceResult;
import io.weir.runtime.DataType;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.WeirException;
import io.weir.runtime.features.FeatureContract;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Reading a model's scores out of a result, and a failure's error code. */
public final class Scores {
    private Scores() {
    }

    /**
     * The output that carries the score: the feature contract's output when the model has one, otherwise the first
     * FP32 output with one value per row; null when the model declares no such output.
     */
    public static String scoreOutput(ModelConfig config) {
        return config.featureContract().map(FeatureContract::output).orElseGet(() -> config.outputs().stream()
                .filter(t -> t.dataType() == DataType.FP32 && t.rowWidth() == 1).map(TensorSpec::name)
                .findFirst().orElse(null));
    }

    /** The result's scores (one per row), or null when it carries none. The array is the tensor's own: do not modify. */
    public static float[] of(ModelConfig config, InferenceResult result) {
        if (config == null || result == null) {
            return null;
        }
        String name = scoreOutput(config);
        Tensor t = name == null ? null : result.outputs().get(name);
        return t == null || t.dataType() != DataType.FP32 ? null : t.floats();
    }

    public static ErrorCode codeOf(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c instanceof WeirException w ? w.code() : ErrorCode.INTERNAL;
    }

    /** Failures that say something about the version that served (rather than the request or the load). */
    public static boolean countsAgainstVersion(ErrorCode code) {
        return code == ErrorCode.INTERNAL || code == ErrorCode.UNAVAILABLE || code == ErrorCode.DEADLINE_EXCEEDED;
    }
}
