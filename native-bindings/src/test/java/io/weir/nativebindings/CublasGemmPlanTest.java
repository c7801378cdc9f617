package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The row-major -> column-major GEMM mapping, checked by executing the planned column-major call
 * with a reference implementation of cuBLAS semantics on the row-major arrays.
 */
class CublasGemmPlanTest {

    /** Reference column-major sgemm: C = alpha*op(A)*op(B) + beta*C, as cublasSgemm defines it. */
    private static void colMajorSgemm(Cublas.Op ta, Cublas.Op tb, int m, int n, int k, float alpha, float[] a, int lda,
                                      float[] b, int ldb, float beta, float[] c, int ldc) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta == Cublas.Op.N ? a[i + p * lda] : a[p + i * lda];
                    float bv = tb == Cublas.Op.N ? b[p + j * ldb] : b[j + p * ldb];
                    s += (double) av * bv;
                }
                c[i + j * ldc] = (float) (alpha * s + beta * c[i + j * ldc]);
            }
        }
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() * 2 - 1;
        }
        return x;
    }

    @Test
    void rowMajorPlanComputesTheRowMajorProductForAllTransposes() {
        Random r = new Random(42);
        int m = 5, n = 7, k = 3;
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                float[] a = random(r, m * k);   // [m,k] or [k,m] row-major
                float[] b = random(r, k * n);   // [k,n] or [n,k] row-major
                float[] c0 = random(r, m * n);
                float alpha = 1.5f, beta = 0.25f;
                float[] expected = new float[m * n];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int p = 0; p < k; p++) {
                            float av = transA ? a[p * m + i] : a[i * k + p];
                            float bv = transB ? b[j * k + p] : b[p * n + j];
                            s += (double) av * bv;
                        }
                        expected[i * n + j] = (float) (alpha * s + beta * c0[i * n + j]);
                    }
                }
                Cublas.GemmPlan p = Cublas.GemmPlan.rowMajor(transA, transB, m, n, k);
                float[] c = c0.clone();
                colMajorSgemm(p.opFirst(), p.opSecond(), p.m(), p.n(), p.k(), alpha, b, p.ldFirst(), a, p.ldSecond(),
                        beta, c, p.ldc());
                assertThat(c).as("transA=%s transB=%s", transA, transB)
                        .containsExactly(expected, org.assertj.core.data.Offset.offset(1e-5f));
            }
        }
    }

    @Test
    void rejectsEmptyDimensions() {
        assertThatThrownBy(() -> Cublas.GemmPlan.rowMajor(false, false, 0, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void availabilityNeverThrows() {
        LibraryStatus s = Cublas.availability();
        assertThat(s.detail()).isNotBlank();
        LibraryStatus n = Nvrtc.availability();
        assertThat(n.detail()).isNotBlank();
        LibraryStatus lt = CublasLt.availability();
        assertThat(lt.detail()).isNotBlank();
        if (!lt.available()) {
            assertThat(lt.detail()).contains("libcublasLt.so.13").contains("weir.cublaslt.lib");
        }
        assertThat(CublasLt.Epilogue.of(true, true)).isEqualTo(CublasLt.Epilogue.RELU_BIAS);
        assertThat(CublasLt.Epilogue.of(false, false)).isEqualTo(CublasLt.Epilogue.NONE);
        if (!s.available()) {
            assertThat(s.detail()).contains("libcublas.so.13").contains("weir.cublas.lib");
        }
    }
}
