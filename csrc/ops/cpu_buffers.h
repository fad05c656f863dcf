// Large CPU output buffers: fewer, cheaper page faults.
//
// An op's large outputs (the T-SNF gradients of r1 and r2, the vMF samples
// and their loc gradient at large batches) are freshly allocated by every
// call and written once. Allocations that size come from mmap, or from heap
// memory that glibc has trimmed and given back, so each first touch of a
// 4 KiB page is a page fault in which the kernel zeroes the page: measured,
// those faults cost more than the T-SNF backward's arithmetic. Both helpers
// are hints for Linux (anything else, or any error, leaves the ordinary
// faults); HVAE_EXT_NO_HUGEPAGES=1 turns them off.
#pragma once

#include <cstdint>

#include <ATen/ATen.h>

namespace hvae_ops {

// Marks the tensor's 2 MiB-aligned interior MADV_HUGEPAGE before anything
// writes it, so it faults in 2 MiB at a time where transparent huge pages
// are available ("madvise" or "always" mode): what torch's opt-in
// THP_MEM_ALLOC_ENABLE=1 does for every large allocation, here for chosen
// buffers only.
void advise_huge_pages(const at::Tensor& t);

// Maps the pages of [p, p + bytes) in one call (MADV_POPULATE_WRITE, Linux
// 5.14+), in huge pages where advise_huge_pages allowed it, instead of one
// fault per page. Meant to be called by each thread for the part it is about
// to write, so the kernel's zeroing is spread over the threads as the faults
// were.
void populate_for_write(const void* p, int64_t bytes);

}  // namespace hvae_ops
