// Which of the optional implementations this CPU and OS can run.
#ifndef HEADFRAME_CPU_FEATURES_H
#define HEADFRAME_CPU_FEATURES_H

namespace headframe {

struct CpuFeatures {
  bool shani;   // SHA extensions + SSSE3 + SSE4.1 (xmm state only)
  bool avx2;    // AVX2, and the OS saves ymm state (XCR0 bits 1-2)
  bool avx512;  // AVX-512 F + VL, and the OS saves opmask/zmm state (XCR0 bits 5-7)
};

// Runs cpuid/xgetbv; all false on non-x86 builds.
CpuFeatures detect_cpu_features();

}  // namespace headframe

#endif  // HEADFRAME_CPU_FEATURES_H
