package io.weir.runtime.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MlpTest {

    private static float[] randomRows(DemoRandom rng, int rows, int width) {
        float[] x = new float[rows * width];
        for (int i = 0; i < x.length; i++) {
            // Some exact zeros, which the first layer skips: the gradient must not depend on that shortcut.
            x[i] = rng.bernoulli(0.3) ? 0f : (float) rng.nextGaussian();
        }
        return x;
    }

    @ParameterizedTest
    @EnumSource(Mlp.Activation.class)
    void backpropagationMatchesFiniteDifferences(Mlp.Activation activation) {
        DemoRandom rng = new DemoRandom(7);
        int inputs = 5;
        int hidden = 4;
        Mlp mlp = Mlp.initialise(inputs, hidden, activation, rng);
        for (int j = 0; j < hidden; j++) {
            mlp.b1[j] = 0.3 * rng.nextGaussian(); // non-zero biases so ReLU kinks are not at the sample points
        }
        float[] x = randomRows(rng, 3, inputs);
        double[] labels = {1, 0, 1};
        double[] gW1 = new double[mlp.w1.length];
        double[] gB1 = new double[hidden];
        double[] gW2 = new double[hidden];
        double[] gB2 = new double[1];
        for (int r = 0; r < 3; r++) {
            mlp.accumulateGradient(x, r, labels[r], gW1, gB1, gW2, gB2);
        }
        checkGradient(mlp, x, labels, mlp.w1, gW1);
        checkGradient(mlp, x, labels, mlp.b1, gB1);
        checkGradient(mlp, x, labels, mlp.w2, gW2);
        checkGradient(mlp, x, labels, mlp.b2, gB2);
    }

    private static void checkGradient(Mlp mlp, float[] x, double[] labels, double[] params, double[] analytic) {
        double h = 1e-6;
        for (int i = 0; i < params.length; i++) {
            double saved = params[i];
            params[i] = saved + h;
            double up = loss(mlp, x, labels);
            params[i] = saved - h;
            double down = loss(mlp, x, labels);
            params[i] = saved;
            assertThat(analytic[i]).as("parameter %d", i).isCloseTo((up - down) / (2 * h), within(1e-6));
        }
    }

    private static double loss(Mlp mlp, float[] x, double[] labels) {
        double sum = 0;
        for (int r = 0; r < labels.length; r++) {
            double p = mlp.predict(x, r);
            sum += -(labels[r] * Math.log(p) + (1 - labels[r]) * Math.log(1 - p));
        }
        return sum;
    }

    /** XOR of two signs: no linear model separates it, one hidden layer does. */
    private static float[][] xorData(int rows, long seed) {
        DemoRandom rng = new DemoRandom(seed);
        float[] x = new float[rows * 2];
        float[] y = new float[rows];
        for (int r = 0; r < rows; r++) {
            x[2 * r] = (float) rng.uniform(-1, 1);
            x[2 * r + 1] = (float) rng.uniform(-1, 1);
            y[r] = (x[2 * r] > 0) != (x[2 * r + 1] > 0) ? 1f : 0f;
        }
        return new float[][] {x, y};
    }

    @Test
    void learnsANonLinearTask() {
        float[][] train = xorData(2_000, 1);
        Mlp mlp = Mlp.initialise(2, 16, Mlp.Activation.TANH, new DemoRandom(2));
        mlp.train(train[0], train[1], 2_000, new Mlp.Training(30, 32, 0.01, 0), new DemoRandom(3));
        float[][] test = xorData(500, 4);
        double[] scores = new double[500];
        int[] labels = new int[500];
        for (int r = 0; r < 500; r++) {
            scores[r] = mlp.predict(test[0], r);
            labels[r] = (int) test[1][r];
        }
        assertThat(Auc.of(scores, labels)).isGreaterThan(0.97);
    }

    @Test
    void trainingIsBitForBitReproducible() {
        float[][] train = xorData(500, 5);
        double[][] weights = new double[2][];
        for (int run = 0; run < 2; run++) {
            Mlp mlp = Mlp.initialise(2, 8, Mlp.Activation.RELU, new DemoRandom(6));
            mlp.train(train[0], train[1], 500, new Mlp.Training(3, 16, 0.01, 1e-4), new DemoRandom(7));
            weights[run] = mlp.w1.clone();
        }
        assertThat(weights[1]).isEqualTo(weights[0]);
    }
}
