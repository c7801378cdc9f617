package io.weir.runtime.demo;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Area under the ROC curve of scores against 0/1 labels: the probability that a random positive scores above a
 * random negative, a tie counting one half. Computed from the Mann-Whitney U statistic with tied scores given their
 * average rank, so it is exact (no threshold sweep) and independent of input order.
 */
public final class Auc {
    private Auc() {
    }

    /**
     * @throws IllegalArgumentException when lengths differ, a label is not 0/1, a score is NaN, or either class is
     *                                  empty (AUC is undefined then)
     */
    public static double of(double[] scores, int[] labels) {
        if (scores.length != labels.length) {
            throw new IllegalArgumentException(scores.length + " scores but " + labels.length + " labels");
        }
        int n = scores.length;
        long positives = 0;
        for (int i = 0; i < n; i++) {
            if (labels[i] != 0 && labels[i] != 1) {
                throw new IllegalArgumentException("label " + labels[i] + " at " + i + " is not 0 or 1");
            }
            if (Double.isNaN(scores[i])) {
                throw new IllegalArgumentException("score at " + i + " is NaN");
            }
            positives += labels[i];
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) {
            throw new IllegalArgumentException("AUC needs both classes; got " + positives + " positives and " + negatives + " negatives");
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        // + 0.0 turns -0.0 into 0.0, so the sort agrees with the == that groups ties below.
        Arrays.sort(order, Comparator.comparingDouble(k -> scores[k] + 0.0));
        // Sum of the (1-based, tie-averaged) ranks of the positives.
        double positiveRankSum = 0;
        int i = 0;
        while (i < n) {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) {
                j++;
            }
            double averageRank = (i + 1 + j + 1) / 2.0;
            for (int k = i; k <= j; k++) {
                if (labels[order[k]] == 1) {
                    positiveRankSum += averageRank;
                }
            }
            i = j + 1;
        }
        double u = positiveRankSum - positives * (positives + 1) / 2.0;
        return u / ((double) positives * negatives);
    }
}
