// Weir's CUDA kernels (fp32, row-major).
//
// This one file is compiled two ways and must stay valid for both:
//   * at build time by nvcc (-ptx -arch=compute_80) into weir_kernels.ptx, packaged as a resource;
//   * at run time by NVRTC when the packaged PTX is missing or the driver rejects it.
// So: no #include at all (NVRTC has no system headers), only builtins and device math functions.
//
// Every entry point is extern "C" (stable, unmangled names looked up by
// io.weir.nativebindings.WeirKernels) and grid-stride, so any grid size is correct; the launch
// configuration only affects speed. Parameter lists are mirrored in WeirKernels: change both.

#define WEIR_ACT_NONE    0
#define WEIR_ACT_RELU    1
#define WEIR_ACT_TANH    2
#define WEIR_ACT_SIGMOID 3

// Largest k supported by weir_topk_rows (shared-memory budget: WEIR_TOPK_THREADS * WEIR_TOPK_MAX * 8 bytes).
#define WEIR_TOPK_MAX     32
#define WEIR_TOPK_THREADS 128

#define WEIR_NEG_INF (__int_as_float(0xff800000))
#define WEIR_INT_MAX 0x7fffffff

__device__ __forceinline__ float weir_sigmoidf(float v)
{
    // Split by sign so that expf never overflows to inf/inf.
    if (v >= 0.0f) {
        return 1.0f / (1.0f + expf(-v));
    }
    float e = expf(v);
    return e / (1.0f + e);
}

__device__ __forceinline__ float weir_apply_act(float v, int act)
{
    switch (act) {
        case WEIR_ACT_RELU:    return fmaxf(v, 0.0f);
        case WEIR_ACT_TANH:    return tanhf(v);
        case WEIR_ACT_SIGMOID: return weir_sigmoidf(v);
        default:               return v;
    }
}

// y[r, c] = act(x[r, c] + bias[c]) for a [rows, cols] matrix; bias may be null (no bias).
// In place when x == y (the usual case: the GEMM output is rewritten). Launch: grid (cx, gy),
// threads over columns, blocks over rows.
extern "C" __global__ void weir_bias_act(const float* x, const float* bias, float* y,
                                         int rows, int cols, int act)
{
    for (int r = blockIdx.y; r < rows; r += gridDim.y) {
        const long long base = (long long) r * cols;
        for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
            float v = x[base + c];
            if (bias != 0) {
                v += bias[c];
            }
            y[base + c] = weir_apply_act(v, act);
        }
    }
}

// y[i] = act(x[i]) for i < n (elementwise Relu / Tanh / Sigmoid nodes that were not fused).
extern "C" __global__ void weir_activation(const float* x, float* y, long long n, int act)
{
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        y[i] = weir_apply_act(x[i], act);
    }
}

// y[i] = sigmoid(x[i]) for i < n.
extern "C" __global__ void weir_sigmoid(const float* x, float* y, long long n)
{
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        y[i] = weir_sigmoidf(x[i]);
    }
}

// y[i] = a[i] + b[i % bn] for i < n: same-shape add (bn == n) or trailing broadcast of b (n % bn == 0).
extern "C" __global__ void weir_add(const float* a, const float* b, float* y, long long n, long long bn)
{
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        y[i] = a[i] + b[bn == n ? i : i % bn];
    }
}

__device__ __forceinline__ float weir_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

__device__ __forceinline__ float weir_warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

// Block-wide reduction for blockDim.x a multiple of 32 and at most 1024. All threads get the result.
__device__ float weir_block_reduce(float v, bool is_max, float* scratch /* 32 floats */)
{
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int warps = blockDim.x >> 5;
    v = is_max ? weir_warp_max(v) : weir_warp_sum(v);
    __syncthreads();                       // scratch may still be read from a previous call
    if (lane == 0) {
        scratch[warp] = v;
    }
    __syncthreads();
    float w = lane < warps ? scratch[lane] : (is_max ? WEIR_NEG_INF : 0.0f);
    w = is_max ? weir_warp_max(w) : weir_warp_sum(w);
    return w;
}

// Row softmax over the last axis of a [rows, cols] matrix (x and y may alias). One block per
// row (grid-stride over rows); blockDim.x must be a multiple of 32, at most 1024.
extern "C" __global__ void weir_softmax_rows(const float* x, float* y, int rows, int cols)
{
    __shared__ float scratch[32];
    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* in = x + (long long) r * cols;
        float* out = y + (long long) r * cols;
        float m = WEIR_NEG_INF;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            m = fmaxf(m, in[c]);
        }
        m = weir_block_reduce(m, true, scratch);
        float s = 0.0f;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            s += expf(in[c] - m);
        }
        s = weir_block_reduce(s, false, scratch);
        const float inv = 1.0f / s;
        for (int c = threadIdx.x; c < cols; c += blockDim.x) {
            out[c] = expf(in[c] - m) * inv;
        }
    }
}

// Embedding gather: out[i, :] = table[ids[i], :] for i < n, table [vocab, dim].
// Negative ids count from the end (ONNX Gather semantics); ids still out of range give a zero
// row and set *err to 1 (err may be null). One block per id (grid-stride), threads over dim.
extern "C" __global__ void weir_gather_rows(const float* table, const long long* ids, float* out,
                                            int n, int dim, long long vocab, int* err)
{
    for (int i = blockIdx.x; i < n; i += gridDim.x) {
        long long id = ids[i];
        if (id < 0) {
            id += vocab;
        }
        float* dst = out + (long long) i * dim;
        if (id < 0 || id >= vocab) {
            for (int d = threadIdx.x; d < dim; d += blockDim.x) {
                dst[d] = 0.0f;
            }
            if (threadIdx.x == 0 && err != 0) {
                atomicExch(err, 1);
            }
            continue;
        }
        const float* src = table + id * dim;
        for (int d = threadIdx.x; d < dim; d += blockDim.x) {
            dst[d] = src[d];
        }
    }
}

// a ranks before b: larger value first, then smaller index. NaN ranks last.
__device__ __forceinline__ bool weir_better(float av, int ai, float bv, int bi)
{
    const bool an = av != av;
    const bool bn = bv != bv;
    if (an != bn) {
        return bn;
    }
    if (av != bv && !an) {
        return av > bv;
    }
    return ai < bi;
}

// Per-row top-k of a [rows, cols] score matrix: outVals/outIdx are [rows, k], best first; ties
// go to the smaller column index. Requires 1 <= k <= WEIR_TOPK_MAX and blockDim.x ==
// WEIR_TOPK_THREADS. One block per row (grid-stride over rows).
//
// Phase 1: each thread keeps a sorted top-k of its strided slice of the row in shared memory.
// Phase 2: k rounds of a block-wide argmax over the threads' list heads; the winner pops its head.
extern "C" __global__ void weir_topk_rows(const float* scores, int rows, int cols, int k,
                                          float* outVals, int* outIdx)
{
    __shared__ float sv[WEIR_TOPK_THREADS * WEIR_TOPK_MAX];
    __shared__ int si[WEIR_TOPK_THREADS * WEIR_TOPK_MAX];
    __shared__ float wv[WEIR_TOPK_THREADS / 32];
    __shared__ int wi[WEIR_TOPK_THREADS / 32];
    __shared__ int wt[WEIR_TOPK_THREADS / 32];

    const int t = threadIdx.x;
    const int lane = t & 31;
    const int warp = t >> 5;
    float* myv = sv + t * WEIR_TOPK_MAX;
    int* myi = si + t * WEIR_TOPK_MAX;

    for (int r = blockIdx.x; r < rows; r += gridDim.x) {
        const float* row = scores + (long long) r * cols;
        for (int j = 0; j < k; j++) {
            myv[j] = WEIR_NEG_INF;
            myi[j] = WEIR_INT_MAX;
        }
        for (int c = t; c < cols; c += blockDim.x) {
            const float v = row[c];
            if (!weir_better(v, c, myv[k - 1], myi[k - 1])) {
                continue;
            }
            int p = k - 1;
            while (p > 0 && weir_better(v, c, myv[p - 1], myi[p - 1])) {
                myv[p] = myv[p - 1];
                myi[p] = myi[p - 1];
                p--;
            }
            myv[p] = v;
            myi[p] = c;
        }
        __syncthreads();

        int head = 0;
        for (int j = 0; j < k; j++) {
            float bv = head < k ? myv[head] : WEIR_NEG_INF;
            int bi = head < k ? myi[head] : WEIR_INT_MAX;
            int bt = t;
            for (int o = 16; o > 0; o >>= 1) {
                const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
                const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
                const int ot = __shfl_xor_sync(0xffffffffu, bt, o);
                if (weir_better(ov, oi, bv, bi)) {
                    bv = ov;
                    bi = oi;
                    bt = ot;
                }
            }
            if (lane == 0) {
                wv[warp] = bv;
                wi[warp] = bi;
                wt[warp] = bt;
            }
            __syncthreads();
            // Every thread folds the per-warp winners itself: no second broadcast step needed.
            bv = wv[0];
            bi = wi[0];
            bt = wt[0];
            for (int w = 1; w < WEIR_TOPK_THREADS / 32; w++) {
                if (weir_better(wv[w], wi[w], bv, bi)) {
                    bv = wv[w];
                    bi = wi[w];
                    bt = wt[w];
                }
            }
            if (t == 0) {
                outVals[(long long) r * k + j] = bv;
                outIdx[(long long) r * k + j] = bi == WEIR_INT_MAX ? -1 : bi;
            }
            if (t == bt) {
                head++;
            }
            __syncthreads();               // wv/wi/wt are rewritten next round
        }
    }
}

// out[i] = in[i] for i < n: the trivial kernel of the FFM round-trip baseline.
extern "C" __global__ void weir_copy_f32(const float* in, float* out, long long n)
{
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n;
         i += (long long) gridDim.x * blockDim.x) {
        out[i] = in[i];
    }
}
