// Page hints for large CPU output buffers (cpu_buffers.h).
#include "cpu_buffers.h"

#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace hvae_ops {
namespace {

bool hints_enabled() {
  static const bool enabled = std::getenv("HVAE_EXT_NO_HUGEPAGES") == nullptr;
  return enabled;
}

}  // namespace

void advise_huge_pages(const at::Tensor& t) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  if (!hints_enabled() || t.nbytes() < kHuge) return;
  const uintptr_t start = reinterpret_cast<uintptr_t>(t.data_ptr());
  const uintptr_t first = (start + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t last = (start + t.nbytes()) & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)t;
#endif
}

void populate_for_write(const void* p, int64_t bytes) {
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
  // A heap allocation (glibc serves a large block from the heap once one of
  // its size has been freed) can lie on page tables that a trimmed heap left
  // behind, which rules out huge pages there: measured, such a call then
  // still took ~1100 faults for 17 MB, but in one system call.
  if (!hints_enabled() || bytes <= 0) return;
  constexpr uintptr_t kPage = 4096;
  const uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~(kPage - 1);
  const uintptr_t stop = (reinterpret_cast<uintptr_t>(p) + bytes + kPage - 1) & ~(kPage - 1);
  madvise(reinterpret_cast<void*>(start), stop - start, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace hvae_ops
