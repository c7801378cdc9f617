package io.weir.batcher;

/** Request priority: HIGH is batched before NORMAL when both wait. */
public enum Priority {
    HIGH, NORMAL;

    public static Priority parse(String s) {
        if (s == null || s.isBlank() || s.equalsIgnoreCase("normal")) {
            return NORMAL;
        }
        if (s.equalsIgnoreCase("high")) {
            return HIGH;
        }
        throw new IllegalArgumentException("priority must be 'high' or 'normal'");
    }
}
