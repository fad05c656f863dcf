// HVAE_CPU_CLONES: compile a CPU kernel loop twice, for baseline x86-64 and
// for x86-64-v3 (AVX2 + FMA), and pick the version at load time (GCC/Clang
// target_clones, resolved by an ifunc). `flatten` inlines the header math
// into each clone, so the whole per-element computation, not just the loop,
// gets FMA and AVX2. The package is built from source on the user's machine
// but may run on another one (a cluster's login node vs. its compute nodes),
// which is why this is not -march=native.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(HVAE_NO_CPU_CLONES)
#define HVAE_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default"), flatten))
#else
#define HVAE_CPU_CLONES
#endif
