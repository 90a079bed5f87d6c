// INT8 scoring kernels: a portable C form and an AVX-512 VNNI form (vpdpbusd: 64 unsigned x
// signed byte products summed into 16 Int32 lanes per instruction). The two give identical
// results: integer sums are exact and the Float32 steps (convert, multiply, add, max) are
// done one by one, in the same order, in both.
#include "CVigilKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define VIGIL_HAVE_VNNI 1
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#else
#define VIGIL_HAVE_VNNI 0
#endif

int vigil_int8_vnni_supported(void) {
#if VIGIL_HAVE_VNNI
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

// MARK: portable

static void quantize_portable(const float *x, int rows, int n, int paddedN, int groups,
                              const float *inverseScale, const float *zeroPoint, uint8_t *packed) {
    memset(packed, 0, (size_t)groups * (size_t)paddedN * 4);
    for (int f = 0; f < rows; f++) {
        const float *row = x + (size_t)f * (size_t)n;
        uint8_t *target = packed + (size_t)(f / 4) * (size_t)paddedN * 4 + (f % 4);
        const float inverse = inverseScale[f], zero = zeroPoint[f];
        for (int j = 0; j < n; j++) {
            float v = row[j] * inverse;
            v = v + zero;
            v = fminf(fmaxf(v, 0.0f), 255.0f);
            target[(size_t)j * 4] = (uint8_t)lrintf(v);
        }
    }
}

static void multiply_portable(const uint8_t *packed, int groups, int n, int paddedN, const int8_t *weights,
                              int outputs, const int32_t *compensation, const float *scale, const float *bias,
                              int relu, float *out) {
    const size_t k = (size_t)groups * 4;
    for (int o = 0; o < outputs; o++) {
        const int8_t *w = weights + (size_t)o * k;
        for (int j = 0; j < n; j++) {
            int32_t sum = 0;
            for (int g = 0; g < groups; g++) {
                const uint8_t *code = packed + ((size_t)g * (size_t)paddedN + (size_t)j) * 4;
                for (int b = 0; b < 4; b++) sum += (int32_t)w[g * 4 + b] * (int32_t)code[b];
            }
            float v = (float)(sum - compensation[o]);
            v = v * scale[o];
            v = v + bias[o];
            if (relu) v = fmaxf(v, 0.0f);
            out[(size_t)o * (size_t)n + (size_t)j] = v;
        }
    }
}

static void multiply_requantize_portable(const uint8_t *packed, int groups, int n, int paddedN, const int8_t *weights,
                                         int outputs, const int32_t *compensation, const float *scale, const float *bias,
                                         int relu, const float *nextInverseScale, const float *nextZeroPoint, uint8_t *nextPacked) {
    const size_t k = (size_t)groups * 4;
    memset(nextPacked, 0, (size_t)outputs * (size_t)paddedN);
    for (int o = 0; o < outputs; o++) {
        const int8_t *w = weights + (size_t)o * k;
        uint8_t *target = nextPacked + (size_t)(o / 4) * (size_t)paddedN * 4 + (o % 4);
        const float inverse = nextInverseScale[o], zero = nextZeroPoint[o];
        for (int j = 0; j < n; j++) {
            int32_t sum = 0;
            for (int g = 0; g < groups; g++) {
                const uint8_t *code = packed + ((size_t)g * (size_t)paddedN + (size_t)j) * 4;
                for (int b = 0; b < 4; b++) sum += (int32_t)w[g * 4 + b] * (int32_t)code[b];
            }
            float v = (float)(sum - compensation[o]);
            v = v * scale[o];
            v = v + bias[o];
            if (relu) v = fmaxf(v, 0.0f);
            float c = v * inverse;
            c = c + zero;
            c = fminf(fmaxf(c, 0.0f), 255.0f);
            target[(size_t)j * 4] = (uint8_t)lrintf(c);
        }
    }
}

// MARK: AVX-512 VNNI

#if VIGIL_HAVE_VNNI

VNNI static void quantize_vnni(const float *x, int rows, int n, int paddedN, int groups,
                               const float *inverseScale, const float *zeroPoint, uint8_t *packed) {
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
    for (int g = 0; g < groups; g++) {
        for (int j = 0; j < paddedN; j += 16) {
            const __mmask16 live = n - j >= 16 ? (__mmask16)0xFFFF : n > j ? (__mmask16)((1u << (n - j)) - 1) : 0;
            __m512i word = _mm512_setzero_si512();
            for (int b = 0; b < 4; b++) {
                const int f = g * 4 + b;
                if (f >= rows) break;
                __m512 v = _mm512_maskz_loadu_ps(live, x + (size_t)f * (size_t)n + j);
                v = _mm512_mul_ps(v, _mm512_set1_ps(inverseScale[f]));
                v = _mm512_add_ps(v, _mm512_set1_ps(zeroPoint[f]));
                v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
                __m512i code = _mm512_maskz_cvtps_epi32(live, v);
                word = _mm512_or_si512(word, _mm512_slli_epi32(code, 8 * b));
            }
            _mm512_storeu_si512((void *)(packed + ((size_t)g * (size_t)paddedN + (size_t)j) * 4), word);
        }
    }
}

/// R outputs x V 16-event vectors of one tile; R and V are constants after inlining, so the
/// accumulators stay in registers (at most 16 of the 32 zmm).
VNNI static inline __attribute__((always_inline)) void
tile_vnni(const int R, const int V, const uint8_t *packed, int groups, int n, int paddedN, int j0,
          const int8_t *weights, int o0, const int32_t *compensation, const float *scale, const float *bias,
          int relu, float *out, const float *nextInverseScale, const float *nextZeroPoint, uint8_t *nextPacked) {
    const size_t k = (size_t)groups * 4;
    __m512i acc[4][4];
    for (int r = 0; r < R; r++) for (int v = 0; v < V; v++) acc[r][v] = _mm512_setzero_si512();
    for (int g = 0; g < groups; g++) {
        const uint8_t *xp = packed + ((size_t)g * (size_t)paddedN + (size_t)j0) * 4;
        __m512i xv[4];
        for (int v = 0; v < V; v++) xv[v] = _mm512_loadu_si512((const void *)(xp + 64 * v));
        for (int r = 0; r < R; r++) {
            int32_t four;
            memcpy(&four, weights + (size_t)(o0 + r) * k + (size_t)g * 4, 4);
            const __m512i wb = _mm512_set1_epi32(four);
            for (int v = 0; v < V; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], xv[v], wb);
        }
    }
    if (nextPacked) {
        // R == 4 and o0 % 4 == 0: the four outputs are the four bytes of one group of the next
        // layer's codes, so each 16-event vector of codes is one 64-byte store.
        const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
        for (int v = 0; v < V; v++) {
            const int j = j0 + 16 * v;
            const __mmask16 live = n - j >= 16 ? (__mmask16)0xFFFF : n > j ? (__mmask16)((1u << (n - j)) - 1) : 0;
            __m512i word = _mm512_setzero_si512();
            for (int r = 0; r < R; r++) {
                const int o = o0 + r;
                __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][v], _mm512_set1_epi32(compensation[o])));
                f = _mm512_mul_ps(f, _mm512_set1_ps(scale[o]));
                f = _mm512_add_ps(f, _mm512_set1_ps(bias[o]));
                if (relu) f = _mm512_max_ps(f, _mm512_setzero_ps());
                f = _mm512_mul_ps(f, _mm512_set1_ps(nextInverseScale[o]));
                f = _mm512_add_ps(f, _mm512_set1_ps(nextZeroPoint[o]));
                f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
                word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_maskz_cvtps_epi32(live, f), 8 * r));
            }
            _mm512_storeu_si512((void *)(nextPacked + ((size_t)(o0 / 4) * (size_t)paddedN + (size_t)j) * 4), word);
        }
        return;
    }
    for (int r = 0; r < R; r++) {
        const int o = o0 + r;
        const __m512i c = _mm512_set1_epi32(compensation[o]);
        const __m512 s = _mm512_set1_ps(scale[o]), b = _mm512_set1_ps(bias[o]);
        for (int v = 0; v < V; v++) {
            const int j = j0 + 16 * v;
            if (j >= n) break;
            const __mmask16 live = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][v], c));
            f = _mm512_mul_ps(f, s);
            f = _mm512_add_ps(f, b);
            if (relu) f = _mm512_max_ps(f, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(out + (size_t)o * (size_t)n + j, live, f);
        }
    }
}

#define VIGIL_TILE_ARGS packed, groups, n, paddedN, j0, weights, o, compensation, scale, bias, relu, out, \
                        nextInverseScale, nextZeroPoint, nextPacked
#define VIGIL_TILES(R)                                          \
    switch (vectors) {                                          \
    case 4: tile_vnni(R, 4, VIGIL_TILE_ARGS); break;            \
    case 3: tile_vnni(R, 3, VIGIL_TILE_ARGS); break;            \
    case 2: tile_vnni(R, 2, VIGIL_TILE_ARGS); break;            \
    default: tile_vnni(R, 1, VIGIL_TILE_ARGS); break;           \
    }

/// Writes floats to `out`, or, when `nextPacked` is given (outputs a multiple of 4), the next
/// layer's codes instead.
VNNI static void multiply_vnni(const uint8_t *packed, int groups, int n, int paddedN, const int8_t *weights,
                               int outputs, const int32_t *compensation, const float *scale, const float *bias,
                               int relu, float *out, const float *nextInverseScale, const float *nextZeroPoint,
                               uint8_t *nextPacked) {
    // 64 events at a time: the tile's packed codes (groups x 256 bytes) and the weights stay
    // in L1 while every output row runs over them.
    for (int j0 = 0; j0 < n; j0 += 64) {
        const int remaining = (n - j0 + 15) / 16;
        const int vectors = remaining > 4 ? 4 : remaining;
        int o = 0;
        for (; o + 4 <= outputs; o += 4) { VIGIL_TILES(4) }
        for (; o < outputs; o++) { VIGIL_TILES(1) }
    }
}

#endif

// MARK: dispatch

void vigil_int8_quantize(int kernel, const float *x, int rows, int n, int paddedN, int groups,
                         const float *inverseScale, const float *zeroPoint, uint8_t *packed) {
#if VIGIL_HAVE_VNNI
    if (kernel == VIGIL_INT8_AVX512_VNNI) {
        quantize_vnni(x, rows, n, paddedN, groups, inverseScale, zeroPoint, packed);
        return;
    }
#endif
    quantize_portable(x, rows, n, paddedN, groups, inverseScale, zeroPoint, packed);
}

void vigil_int8_multiply(int kernel, const uint8_t *packed, int groups, int n, int paddedN,
                         const int8_t *weights, int outputs, const int32_t *compensation,
                         const float *scale, const float *bias, int relu, float *out) {
#if VIGIL_HAVE_VNNI
    if (kernel == VIGIL_INT8_AVX512_VNNI) {
        multiply_vnni(packed, groups, n, paddedN, weights, outputs, compensation, scale, bias, relu, out, NULL, NULL, NULL);
        return;
    }
#endif
    multiply_portable(packed, groups, n, paddedN, weights, outputs, compensation, scale, bias, relu, out);
}

void vigil_int8_multiply_requantize(int kernel, const uint8_t *packed, int groups, int n, int paddedN,
                                    const int8_t *weights, int outputs, const int32_t *compensation,
                                    const float *scale, const float *bias, int relu,
                                    const float *nextInverseScale, const float *nextZeroPoint, uint8_t *nextPacked) {
#if VIGIL_HAVE_VNNI
    if (kernel == VIGIL_INT8_AVX512_VNNI) {
        multiply_vnni(packed, groups, n, paddedN, weights, outputs, compensation, scale, bias, relu, NULL,
                      nextInverseScale, nextZeroPoint, nextPacked);
        return;
    }
#endif
    multiply_requantize_portable(packed, groups, n, paddedN, weights, outputs, compensation, scale, bias, relu,
                                 nextInverseScale, nextZeroPoint, nextPacked);
}
