// Asynchronous global -> shared memory copies (cp.async, sm_80 and later),
// for kernels that prefetch the next piece of their input while computing on
// the current one. Each thread issues copies, closes them into a group with
// async_commit(), and later waits until at most N of its groups are still in
// flight with async_wait<N>(); a __syncthreads() after the wait makes every
// thread's copies visible to the block.
//
// Elsewhere (older GPUs, and the host, where tests/cpp/cuda_emulation.h runs
// the kernels) the copies are plain synchronous loads and stores and the
// waits do nothing, which has the same meaning.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../common.h"

namespace hvae {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define HVAE_CP_ASYNC 1
#else
#define HVAE_CP_ASYNC 0
#endif

#if HVAE_CP_ASYNC
__device__ __forceinline__ unsigned shared_address(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}
#endif

// A cp.async of `bytes` needs both addresses aligned to `bytes` (the GPU
// faults with "misaligned address" otherwise). The host build (the emulated
// kernel tests) checks it, so that a layout error shows up without a GPU.
__device__ __forceinline__ void check_async_alignment(const void* dst, const void* src, unsigned bytes) {
#if !defined(__CUDA_ARCH__)
  if (reinterpret_cast<uintptr_t>(dst) % bytes != 0 || reinterpret_cast<uintptr_t>(src) % bytes != 0) {
    std::fprintf(stderr, "hvae async copy of %u bytes misaligned: dst %p src %p\n", bytes, dst, src);
    std::abort();
  }
#else
  (void)dst, (void)src, (void)bytes;
#endif
}

// One element (4 or 8 bytes); dst and src aligned to their size.
template <typename T>
__device__ __forceinline__ void async_copy_element(T* dst, const T* src) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "4- or 8-byte elements");
#if HVAE_CP_ASYNC
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2;\n" ::"r"(shared_address(dst)), "l"(src),
               "n"(int(sizeof(T))));
#else
  check_async_alignment(dst, src, sizeof(T));
  *dst = *src;
#endif
}

// 16 bytes; dst and src 16-byte aligned. Bypasses L1 (streamed data).
__device__ __forceinline__ void async_copy_16(void* dst, const void* src) {
#if HVAE_CP_ASYNC
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(shared_address(dst)), "l"(src));
#else
  check_async_alignment(dst, src, 16);
  std::memcpy(dst, src, 16);
#endif
}

// Closes this thread's copies issued since the last commit into one group
// (possibly empty, which keeps group counting uniform across threads).
__device__ __forceinline__ void async_commit() {
#if HVAE_CP_ASYNC
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}

// Waits until at most N of this thread's committed groups are in flight.
template <int N>
__device__ __forceinline__ void async_wait() {
#if HVAE_CP_ASYNC
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

}  // namespace hvae
