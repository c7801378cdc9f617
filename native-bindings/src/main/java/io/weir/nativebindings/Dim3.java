package io.weir.nativebindings;

/** Grid or block dimensions of a kernel launch. */
public record Dim3(int x, int y, int z) {

    public Dim3 {
        if (x <= 0 || y <= 0 || z <= 0) {
            throw new IllegalArgumentException("launch dimensions must be positive: (" + x + ", " + y + ", " + z + ")");
        }
    }

    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    public static Dim3 of(int x, int y) {
        return new Dim3(x, y, 1);
    }
}
