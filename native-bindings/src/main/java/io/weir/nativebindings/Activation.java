package io.weir.nativebindings;

/** Elementwise activations the kernels implement; {@link #code()} matches {@code WEIR_ACT_*} in weir_kernels.cu. */
public enum Activation {
    NONE(0), RELU(1), TANH(2), SIGMOID(3);

    private final int code;

    Activation(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** Reference implementation (fp32, same formulas as the kernels), for tests and CPU checks. */
    public float apply(float v) {
        return switch (this) {
            case NONE -> v;
            case RELU -> Math.max(v, 0f);
            case TANH -> (float) Math.tanh(v);
            case SIGMOID -> v >= 0 ? (float) (1.0 / (1.0 + Math.exp(-v))) : (float) (Math.exp(v) / (1.0 + Math.exp(v)));
        };
    }
}
