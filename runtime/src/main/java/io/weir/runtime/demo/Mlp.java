package io.weir.runtime.demo;

import io.weir.runtime.onnx.OnnxGraphBuilder;

/**
 * A one-hidden-layer perceptron that scores a row of features with a probability:
 * {@code sigmoid(act(x · W1 + b1) · w2 + b2)}, trained with mini-batch Adam on binary cross-entropy through
 * hand-written backpropagation. Arithmetic is plain {@code double} (strict IEEE on every JVM since 17) and the
 * transcendental functions are {@link StrictMath}'s, so training from the same seed and data gives the same weights
 * bit for bit on every machine; that is what makes the committed demo models reproducible.
 *
 * <p>Inputs are often one-hot or hashed n-grams, so zero features are skipped in the first layer.
 *
 * <p>Mutable while training, not thread-safe.
 */
final class Mlp {

    enum Activation { RELU, TANH }

    record Training(int epochs, int batchSize, double learningRate, double l2) {
    }

    final int inputs;
    final int hidden;
    final Activation activation;
    /** Row-major [inputs][hidden], the layout of the exported Gemm's B matrix. */
    final double[] w1;
    final double[] b1;
    final double[] w2;
    final double[] b2;

    private Mlp(int inputs, int hidden, Activation activation, double[] w1, double[] b1, double[] w2, double[] b2) {
        this.inputs = inputs;
        this.hidden = hidden;
        this.activation = activation;
        this.w1 = w1;
        this.b1 = b1;
        this.w2 = w2;
        this.b2 = b2;
    }

    /** Random weights (He for ReLU, Xavier for tanh), zero biases. */
    static Mlp initialise(int inputs, int hidden, Activation activation, DemoRandom rng) {
        double scale1 = activation == Activation.RELU ? StrictMath.sqrt(2.0 / inputs) : StrictMath.sqrt(1.0 / inputs);
        double scale2 = StrictMath.sqrt(1.0 / hidden);
        double[] w1 = new double[inputs * hidden];
        for (int i = 0; i < w1.length; i++) {
            w1[i] = rng.nextGaussian() * scale1;
        }
        double[] w2 = new double[hidden];
        for (int j = 0; j < hidden; j++) {
            w2[j] = rng.nextGaussian() * scale2;
        }
        return new Mlp(inputs, hidden, activation, w1, new double[hidden], w2, new double[1]);
    }

    /** A copy with every weight rounded to float32: exactly the numbers the exported ONNX model holds. */
    Mlp roundedToFloat() {
        return new Mlp(inputs, hidden, activation, round(w1), round(b1), round(w2), round(b2));
    }

    private static double[] round(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (float) a[i];
        }
        return r;
    }

    int parameterCount() {
        return w1.length + b1.length + w2.length + b2.length;
    }

    /** Probability for row {@code row} of a row-major [rows][inputs] matrix. */
    double predict(float[] x, int row) {
        double[] h = new double[hidden];
        return sigmoid(forward(x, row, h));
    }

    /** Fills {@code h} with the hidden activations and returns the output logit. */
    private double forward(float[] x, int row, double[] h) {
        System.arraycopy(b1, 0, h, 0, hidden);
        int base = row * inputs;
        for (int i = 0; i < inputs; i++) {
            double xi = x[base + i];
            if (xi == 0) {
                continue;
            }
            int w = i * hidden;
            for (int j = 0; j < hidden; j++) {
                h[j] += xi * w1[w + j];
            }
        }
        double z = b2[0];
        for (int j = 0; j < hidden; j++) {
            h[j] = activation == Activation.RELU ? Math.max(0.0, h[j]) : StrictMath.tanh(h[j]);
            z += h[j] * w2[j];
        }
        return z;
    }

    /**
     * Adds the gradient of one row's binary cross-entropy to the accumulators (same layouts as the weights) and
     * returns that row's loss.
     */
    double accumulateGradient(float[] x, int row, double label, double[] gW1, double[] gB1, double[] gW2, double[] gB2) {
        double[] h = new double[hidden];
        double z = forward(x, row, h);
        double p = sigmoid(z);
        // d(BCE)/dz = p - y; the loss itself is computed from z for stability at saturated probabilities.
        double dz = p - label;
        gB2[0] += dz;
        int base = row * inputs;
        for (int j = 0; j < hidden; j++) {
            gW2[j] += dz * h[j];
            double dAct = activation == Activation.RELU ? (h[j] > 0 ? 1.0 : 0.0) : 1.0 - h[j] * h[j];
            double dh = dz * w2[j] * dAct;
            h[j] = dh;
            gB1[j] += dh;
        }
        for (int i = 0; i < inputs; i++) {
            double xi = x[base + i];
            if (xi == 0) {
                continue;
            }
            int w = i * hidden;
            for (int j = 0; j < hidden; j++) {
                gW1[w + j] += xi * h[j];
            }
        }
        return softplus(z) - label * z;
    }

    /**
     * Trains in place on rows of {@code x} with 0/1 labels; returns the mean loss of the last epoch. Row order is
     * shuffled each epoch by {@code rng}.
     */
    double train(float[] x, float[] labels, int rows, Training t, DemoRandom rng) {
        if (x.length != rows * inputs || labels.length != rows) {
            throw new IllegalArgumentException("expected " + rows + " rows of " + inputs + " features and labels");
        }
        Adam adamW1 = new Adam(w1.length);
        Adam adamB1 = new Adam(b1.length);
        Adam adamW2 = new Adam(w2.length);
        Adam adamB2 = new Adam(b2.length);
        double[] gW1 = new double[w1.length];
        double[] gB1 = new double[b1.length];
        double[] gW2 = new double[w2.length];
        double[] gB2 = new double[b2.length];
        int[] order = new int[rows];
        for (int i = 0; i < rows; i++) {
            order[i] = i;
        }
        double epochLoss = Double.NaN;
        for (int epoch = 0; epoch < t.epochs(); epoch++) {
            for (int i = rows - 1; i > 0; i--) {
                int k = rng.nextInt(i + 1);
                int tmp = order[i];
                order[i] = order[k];
                order[k] = tmp;
            }
            double lossSum = 0;
            for (int start = 0; start < rows; start += t.batchSize()) {
                int end = Math.min(rows, start + t.batchSize());
                java.util.Arrays.fill(gW1, 0);
                java.util.Arrays.fill(gB1, 0);
                java.util.Arrays.fill(gW2, 0);
                java.util.Arrays.fill(gB2, 0);
                for (int r = start; r < end; r++) {
                    lossSum += accumulateGradient(x, order[r], labels[order[r]], gW1, gB1, gW2, gB2);
                }
                double n = end - start;
                adamW1.step(w1, gW1, n, t.learningRate(), t.l2());
                adamB1.step(b1, gB1, n, t.learningRate(), 0);
                adamW2.step(w2, gW2, n, t.learningRate(), t.l2());
                adamB2.step(b2, gB2, n, t.learningRate(), 0);
            }
            epochLoss = lossSum / rows;
        }
        return epochLoss;
    }

    /**
     * Adds this network to a graph: {@code input} [batch, inputs] → Gemm → activation → Gemm → Sigmoid →
     * {@code output} [batch, 1]. Weights are float32 initializers named after {@code prefix}.
     */
    void export(OnnxGraphBuilder g, String prefix, String input, String output) {
        g.initializer(prefix + "w1", new long[] {inputs, hidden}, floats(w1));
        g.initializer(prefix + "b1", new long[] {hidden}, floats(b1));
        g.initializer(prefix + "w2", new long[] {hidden, 1}, floats(w2));
        g.initializer(prefix + "b2", new long[] {1}, floats(b2));
        g.gemm(input, prefix + "w1", prefix + "b1", prefix + "hidden_linear");
        if (activation == Activation.RELU) {
            g.relu(prefix + "hidden_linear", prefix + "hidden");
        } else {
            g.tanh(prefix + "hidden_linear", prefix + "hidden");
        }
        g.gemm(prefix + "hidden", prefix + "w2", prefix + "b2", prefix + "logit");
        g.sigmoid(prefix + "logit", output);
    }

    private static float[] floats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            f[i] = (float) a[i];
        }
        return f;
    }

    static double sigmoid(double z) {
        return z >= 0 ? 1.0 / (1.0 + StrictMath.exp(-z)) : StrictMath.exp(z) / (1.0 + StrictMath.exp(z));
    }

    /** log(1 + e^z) without overflow. */
    private static double softplus(double z) {
        return z > 0 ? z + StrictMath.log1p(StrictMath.exp(-z)) : StrictMath.log1p(StrictMath.exp(z));
    }

    /** Adam moments of one parameter array (β1 0.9, β2 0.999, ε 1e-8), with L2 folded into the gradient. */
    private static final class Adam {
        private static final double BETA1 = 0.9;
        private static final double BETA2 = 0.999;
        private static final double EPS = 1e-8;
        private final double[] m;
        private final double[] v;
        private double beta1Power = 1;
        private double beta2Power = 1;

        Adam(int size) {
            m = new double[size];
            v = new double[size];
        }

        void step(double[] params, double[] gradSum, double batchRows, double lr, double l2) {
            beta1Power *= BETA1;
            beta2Power *= BETA2;
            double correction1 = 1 - beta1Power;
            double correction2 = 1 - beta2Power;
            for (int i = 0; i < params.length; i++) {
                double g = gradSum[i] / batchRows + l2 * params[i];
                m[i] = BETA1 * m[i] + (1 - BETA1) * g;
                v[i] = BETA2 * v[i] + (1 - BETA2) * g * g;
                params[i] -= lr * (m[i] / correction1) / (StrictMath.sqrt(v[i] / correction2) + EPS);
            }
        }
    }
}
