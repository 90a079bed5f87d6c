// Integer kernels of VigilML's INT8 scoring layers. Only VigilML imports this module.
//
// Activations are feature-major Float32 (rows x n, row stride n). Quantised activations are
// packed for the dot-product instructions: [groups][paddedN][4] bytes, byte (g, j, k) being
// feature 4g+k of event j as an unsigned code (value / scale + zero point, 0...255).
// Weights are [outputs][groups*4] signed bytes, zero past the layer's inputs.
#ifndef CVIGILKERNELS_H
#define CVIGILKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Which implementation runs: the portable C loops, or AVX-512 VNNI (vpdpbusd).
enum {
    VIGIL_INT8_PORTABLE = 0,
    VIGIL_INT8_AVX512_VNNI = 1,
};

/// 1 when the running CPU has AVX-512 F, BW, VL and VNNI (what the VNNI kernel uses).
int vigil_int8_vnni_supported(void);

/// Quantises rows x n feature-major floats into the packed layout (paddedN a multiple of 16,
/// at least n; groups*4 >= rows). Per feature f: code = clamp(round(x * inverseScale[f] +
/// zeroPoint[f]), 0, 255), rounding to nearest even. Features past `rows` and events past `n`
/// are written as 0.
void vigil_int8_quantize(int kernel, const float *x, int rows, int n, int paddedN, int groups,
                         const float *inverseScale, const float *zeroPoint, uint8_t *packed);

/// out[o*n + j] = act(float(sum_i weights[o][i] * code(i, j) - compensation[o]) * scale[o] + bias[o]),
/// with act = max(., 0) when relu != 0, else identity. Int32 accumulation (exact: no overflow
/// below 2^31 / (255*127) = 66,000 inputs). Only events 0..<n are written.
void vigil_int8_multiply(int kernel, const uint8_t *packed, int groups, int n, int paddedN,
                         const int8_t *weights, int outputs, const int32_t *compensation,
                         const float *scale, const float *bias, int relu, float *out);

/// vigil_int8_multiply fused with the next layer's vigil_int8_quantize: each output is computed
/// as vigil_int8_multiply computes it, then coded with the next layer's per-input scale and zero
/// point (code = clamp(round(v * nextInverseScale[o] + nextZeroPoint[o]), 0, 255)) straight into
/// nextPacked, the next layer's packed codes ([outputs/4][paddedN][4] bytes). outputs must be a
/// multiple of 4. The codes are byte for byte those of vigil_int8_quantize over the floats
/// vigil_int8_multiply writes (events past n coded 0), without writing or reading the floats.
void vigil_int8_multiply_requantize(int kernel, const uint8_t *packed, int groups, int n, int paddedN,
                                    const int8_t *weights, int outputs, const int32_t *compensation,
                                    const float *scale, const float *bias, int relu,
                                    const float *nextInverseScale, const float *nextZeroPoint, uint8_t *nextPacked);

#ifdef __cplusplus
}
#endif

#endif
