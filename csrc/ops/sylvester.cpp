// CPU kernels of the triangular Sylvester flow ops: the per-sample header
// math of csrc/hvae/sylvester.h in an at::parallel_for over the batch.
#include "sylvester.h"
#include "cpu_buffers.h"
#include "cpu_clones.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <tuple>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>

namespace hvae_ops {
namespace {

// One sample costs about 2 K T multiply-adds forward (T = D(D+1)/2) and
// twice that backward; aim for ~32k of them per block of samples.
int64_t grain_size(const SylvesterLaunch& launch) {
  const int64_t work = std::max<int64_t>(1, launch.num_flows * launch.dim * (launch.dim + 1));
  return std::max<int64_t>(1, 32768 / work);
}

// Runs fn(begin, end, scratch) over [0, batch) in blocks of `block` samples
// handed out from a shared counter, each thread with its own scratch of
// scratch_size elements. Not one static chunk per thread (at::parallel_for):
// on a machine shared with other work, a thread that is descheduled for a
// while (several ms, on 2 cores beside other jobs) then holds up the call by
// at most one block, not by its whole share of the batch. Each sample's
// outputs are its own, so the results do not depend on the split.
template <typename T, typename Fn>
void parallel_over_samples(int64_t batch, int64_t block, int64_t scratch_size, const Fn& fn) {
  const int64_t blocks = (batch + block - 1) / block;
  const int64_t threads = std::min<int64_t>(at::get_num_threads(), blocks);
  std::atomic<int64_t> next{0};
  at::parallel_for(0, std::max<int64_t>(threads, 1), 1, [&](int64_t, int64_t) {
    std::vector<T> scratch(scratch_size);
    for (;;) {
      const int64_t begin = next.fetch_add(block, std::memory_order_relaxed);
      if (begin >= batch) break;
      fn(begin, std::min(batch, begin + block), scratch.data());
    }
  });
}

// The per-sample loops, compiled for baseline x86-64 and for AVX2 + FMA
// (cpu_clones.h): with the factors prefetched the row loops are compute-bound
// enough for the wider vectors to count.
// [begin, end) are positions m = b S + s (sylvester_row_of_position): the S
// rows of one data point run back to back, while its triangles are in cache.
// With sample dimensions, kForwardLanes rows of one data point at a time
// (sylvester_forward_rows: each triangle row read once for all of them, no
// horizontal sums); the per-row function for S = 1.
constexpr int kForwardLanes = 8;

template <typename T>
HVAE_CPU_CLONES void forward_range(const hvae::SylvesterParams<T>& p, int64_t begin, int64_t end,
                                   T* w) {
  const int64_t D = p.dim, S = p.samples;
  if (S == 1) {
    for (int64_t m = begin; m < end; ++m) hvae::sylvester_forward_sample(p, m, w, w + D, w + 2 * D);
    return;
  }
  int64_t rows[kForwardLanes];
  for (int64_t m = begin; m < end;) {
    // positions m = b S + s: a group never crosses into the next data point
    const int64_t group_end = std::min(end, std::min(m + kForwardLanes, (m / S + 1) * S));
    int count = 0;
    for (; m < group_end; ++m) rows[count++] = hvae::sylvester_row_of_position(m, p.batch, S);
    hvae::sylvester_forward_rows<kForwardLanes>(p, rows, count, w);
  }
}

// stage: null, or 2 F elements where the stored (per-sample) gradients of a
// step are built before they are streamed out (see sylvester_backward_sample).
// Positions [begin, end) as in forward_range.
template <bool Accumulate, typename T>
HVAE_CPU_CLONES void backward_range(const hvae::SylvesterBackwardParams<T>& q, int64_t begin,
                                    int64_t end, T* w, T* stage) {
  const int64_t D = q.fwd.dim;
  for (int64_t m = begin; m < end; ++m) {
    hvae::sylvester_backward_sample<Accumulate>(q, hvae::sylvester_row_of_position(m, q.fwd.batch, q.fwd.samples),
                                                w, w + D, w + 2 * D, w + 3 * D, w + 4 * D, w + 5 * D,
                                                w + 6 * D, stage);
  }
  hvae::sylvester_stream_fence();
}

// Staging the two gradient triangles pays while they stay in L2 (D <= 128
// in float64, 181 in float32); larger steps write their rows directly.
constexpr int64_t kStageBytes = 256 << 10;

template <typename T>
HVAE_CPU_CLONES void inverse_range(const hvae::SylvesterParams<T>& p, int64_t begin, int64_t end,
                                   T* w) {
  const int64_t D = p.dim;
  for (int64_t m = begin; m < end; ++m) {
    hvae::sylvester_inverse_sample<true>(p, hvae::sylvester_row_of_position(m, p.batch, p.samples), w, w + D,
                                         w + 2 * D);
  }
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> sylvester_triangular_cpu(
    const at::Tensor& z, const at::Tensor& r1, const at::Tensor& r2, const at::Tensor& b,
    c10::List<bool> flips, bool packed, bool per_step_logdet, bool diag_tanh, bool save_steps) {
  const SylvesterLaunch launch = sylvester_prepare("sylvester_triangular", z, r1, r2, b, flips,
                                                   packed, diag_tanh, per_step_logdet);
  SylvesterOutputs out = sylvester_allocate(launch, save_steps);
  if (launch.rows() > 0) {
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "sylvester_triangular_cpu", [&] {
      const hvae::SylvesterParams<scalar_t> p = sylvester_params<scalar_t>(launch, out);
      const int64_t D = launch.dim;
      // blocks of whole lane groups when there are sample dimensions
      const int64_t grain = grain_size(launch);
      const int64_t block =
          launch.samples == 1 ? grain : (grain + kForwardLanes - 1) / kForwardLanes * kForwardLanes;
      parallel_over_samples<scalar_t>(launch.rows(), block, 3 * D * (launch.samples == 1 ? 1 : kForwardLanes),
                                      [&](int64_t begin, int64_t end, scalar_t* w) {
                                        forward_range(p, begin, end, w);
                                      });
    });
  }
  return {out.z_out, out.logdet, out.z_steps, out.a_steps};
}

// A gradient buffer: at::empty, or zeroed for the accumulating kernels. The
// per-sample gradients of r1 and r2 are as large as the parameters (34 MB
// each at B = 256, D = 64, K = 8 in float64) and written once: huge pages
// where available, and each thread populates its part (cpu_buffers.h).
at::Tensor gradient_buffer(at::IntArrayRef sizes, const at::TensorOptions& opts, bool zeroed) {
  at::Tensor t = at::empty(sizes, opts);
  advise_huge_pages(t);
  if (zeroed) t.zero_();
  return t;
}

// The backward with sample dimensions (S > 1 rows per data point b): the
// parameter gradients are summed over the samples inside the kernel, with no
// per-sample [S, B, K, F] temporary. Work items are (b, chunk of b's
// samples); an item's rows run back to back (b's triangles stay in cache) and
// accumulate into zeroed gradient rows of b in buffer `chunk`, so no two
// threads write the same element. Shared parameters accumulate into one
// buffer per thread. With B large (>= 4 threads) an item is all of b's
// samples and the per-b buffers are the outputs; a small B (one data point
// evaluated with many samples, say) is split into C sample chunks so that
// every thread has work, and the C buffers (C B K F elements, B small) are
// summed at the end.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> sylvester_backward_samples_cpu(
    const SylvesterLaunch& launch, const at::Tensor& gz, const at::Tensor& gl, const at::Tensor& zs,
    const at::Tensor& as) {
  const int64_t B = launch.batch, K = launch.num_flows, D = launch.dim, S = launch.samples;
  const int64_t F = hvae::sylvester_factor_size(D, launch.packed);
  const int64_t threads = std::max<int64_t>(1, at::get_num_threads());
  const int64_t chunks =
      B >= 4 * threads ? 1 : std::max<int64_t>(1, std::min(S, (4 * threads + B - 1) / std::max<int64_t>(B, 1)));
  const int64_t items = B * chunks;
  const int64_t workers = std::max<int64_t>(1, std::min(threads, items));
  const auto opts = gz.options();
  // [chunks or workers (shared), B or -, K, size], zeroed: the kernels accumulate
  auto factor_buffer = [&](bool shared, int64_t size) {
    return gradient_buffer(shared ? std::vector<int64_t>{workers, K, size}
                                  : std::vector<int64_t>{chunks, B, K, size},
                           opts, true);
  };
  at::Tensor g_r1 = factor_buffer(launch.r1_shared, F);
  at::Tensor g_r2 = factor_buffer(launch.r2_shared, F);
  at::Tensor g_b = factor_buffer(launch.b_shared, D);
  at::Tensor g_z = at::empty(launch.shape({B, D}), opts);
  if (items > 0 && S > 0) {
    AT_DISPATCH_FLOATING_TYPES(gz.scalar_type(), "sylvester_triangular_backward_cpu", [&] {
      const hvae::SylvesterBackwardParams<scalar_t> bp =
          sylvester_backward_params<scalar_t>(launch, gz, gl, zs, as, {g_z, g_r1, g_r2, g_b});
      std::atomic<int64_t> next{0};
      at::parallel_for(0, workers, 1, [&](int64_t w_begin, int64_t w_end) {
        std::vector<scalar_t> scratch(10 * D);
        for (int64_t w = w_begin; w < w_end; ++w) {
          for (;;) {
            const int64_t item = next.fetch_add(1, std::memory_order_relaxed);
            if (item >= items) break;
            const int64_t pb = item / chunks, c = item % chunks;
            hvae::SylvesterBackwardParams<scalar_t> q = bp;
            // shared: this worker's accumulator (batch stride 0); per data
            // point: chunk c's buffer, rows by b
            q.grad_r1 += launch.r1_shared ? w * K * F : c * B * K * F;
            q.grad_r2 += launch.r2_shared ? w * K * F : c * B * K * F;
            q.grad_b += launch.b_shared ? w * K * D : c * B * K * D;
            const int64_t s0 = S * c / chunks, s1 = S * (c + 1) / chunks;
            backward_range<true>(q, pb * S + s0, pb * S + s1, scratch.data(), static_cast<scalar_t*>(nullptr));
          }
        }
      });
    });
  }
  // sums over the workers or the sample chunks (a view when there is one)
  auto reduce = [](const at::Tensor& g) { return g.size(0) == 1 ? g.select(0, 0) : g.sum(0); };
  auto finish = [&](const at::Tensor& g, bool shared) {
    return reduce(g).view(sylvester_factor_shape(launch, shared));
  };
  at::Tensor grad_b = reduce(g_b);
  return {g_z, finish(g_r1, launch.r1_shared), finish(g_r2, launch.r2_shared), grad_b};
}

// Gradients of shared parameters are summed over the batch without a
// per-sample temporary: the batch is cut into one chunk per thread, each chunk
// accumulates into its own [K, F] buffer, and the buffers are summed at the end.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> sylvester_triangular_backward_cpu(
    const at::Tensor& grad_z, const at::Tensor& grad_logdet, const at::Tensor& r1,
    const at::Tensor& r2, const at::Tensor& b, const at::Tensor& z_steps,
    const at::Tensor& a_steps, c10::List<bool> flips, bool packed, bool per_step_logdet,
    bool diag_tanh) {
  const char* op_name = "_sylvester_triangular_backward";
  // z itself is only needed for its shape: the saved z_steps[:, 0] is z.
  const SylvesterLaunch launch = sylvester_prepare(op_name, grad_z, r1, r2, b, flips, packed,
                                                   diag_tanh, per_step_logdet);
  at::Tensor gz = grad_z, gl = grad_logdet, zs = z_steps, as = a_steps;
  sylvester_check_backward(op_name, launch, gz, gl, zs, as);
  if (launch.samples != 1) return sylvester_backward_samples_cpu(launch, gz, gl, zs, as);

  const int64_t B = launch.batch, K = launch.num_flows, D = launch.dim;
  const int64_t F = hvae::sylvester_factor_size(D, packed);
  const bool any_shared = launch.r1_shared || launch.r2_shared || launch.b_shared;
  const int64_t chunks =
      any_shared ? std::max<int64_t>(1, std::min<int64_t>(B, at::get_num_threads())) : 1;
  const auto opts = grad_z.options();

  // Accumulating kernels need zeroed buffers; storing ones write every
  // element (zeros below the diagonal of dense factors included).
  auto factor_buffer = [&](bool shared, int64_t size) {
    return gradient_buffer({shared ? chunks : B, K, size}, opts, any_shared);
  };
  at::Tensor g_r1 = factor_buffer(launch.r1_shared, F);
  at::Tensor g_r2 = factor_buffer(launch.r2_shared, F);
  at::Tensor g_b = factor_buffer(launch.b_shared, D);
  at::Tensor g_z = at::empty({B, D}, opts);

  if (B > 0) {
    AT_DISPATCH_FLOATING_TYPES(grad_z.scalar_type(), "sylvester_triangular_backward_cpu", [&] {
      const hvae::SylvesterBackwardParams<scalar_t> bp =
          sylvester_backward_params<scalar_t>(launch, gz, gl, zs, as, {g_z, g_r1, g_r2, g_b});

      auto run = [&](const hvae::SylvesterBackwardParams<scalar_t>& q, int64_t begin,
                     int64_t end) {
        std::vector<scalar_t> scratch(10 * D);
        if (any_shared) {
          backward_range<true>(q, begin, end, scratch.data(), static_cast<scalar_t*>(nullptr));
        } else {
          backward_range<false>(q, begin, end, scratch.data(), static_cast<scalar_t*>(nullptr));
        }
      };
      if (!any_shared) {
        const bool stage = 2 * F * static_cast<int64_t>(sizeof(scalar_t)) <= kStageBytes;
        parallel_over_samples<scalar_t>(B, grain_size(launch), 10 * D + (stage ? 2 * F : 0),
                                        [&](int64_t begin, int64_t end, scalar_t* w) {
                                          const int64_t bytes = (end - begin) * K * F * sizeof(scalar_t);
                                          populate_for_write(bp.grad_r1 + begin * K * F, bytes);
                                          populate_for_write(bp.grad_r2 + begin * K * F, bytes);
                                          backward_range<false>(bp, begin, end, w,
                                                                stage ? w + 10 * D : nullptr);
                                        });
        return;
      }
      at::parallel_for(0, chunks, 1, [&](int64_t c_begin, int64_t c_end) {
        for (int64_t c = c_begin; c < c_end; ++c) {
          hvae::SylvesterBackwardParams<scalar_t> q = bp;
          if (launch.r1_shared) q.grad_r1 += c * K * F;
          if (launch.r2_shared) q.grad_r2 += c * K * F;
          if (launch.b_shared) q.grad_b += c * K * D;
          run(q, B * c / chunks, B * (c + 1) / chunks);
        }
      });
    });
  }
  auto finish = [&](at::Tensor g, bool shared) {
    if (shared) g = g.sum(0);
    return g.view(sylvester_factor_shape(launch, shared));
  };
  at::Tensor grad_b = launch.b_shared ? g_b.sum(0) : g_b;
  return {g_z.view(launch.shape({B, D})), finish(g_r1, launch.r1_shared), finish(g_r2, launch.r2_shared),
          grad_b};
}

at::Tensor sylvester_triangular_inverse_cpu(const at::Tensor& z, const at::Tensor& r1,
                                            const at::Tensor& r2, const at::Tensor& b,
                                            c10::List<bool> flips, bool packed, bool diag_tanh) {
  const SylvesterLaunch launch = sylvester_prepare("sylvester_triangular_inverse", z, r1, r2, b,
                                                   flips, packed, diag_tanh, false);
  at::Tensor out = at::empty(launch.shape({launch.batch, launch.dim}), z.options());
  if (launch.rows() > 0) {
    AT_DISPATCH_FLOATING_TYPES(z.scalar_type(), "sylvester_triangular_inverse_cpu", [&] {
      SylvesterOutputs outputs;
      outputs.z_out = out;
      const hvae::SylvesterParams<scalar_t> p = sylvester_params<scalar_t>(launch, outputs);
      const int64_t D = launch.dim;
      parallel_over_samples<scalar_t>(launch.rows(), grain_size(launch), 3 * D,
                                      [&](int64_t begin, int64_t end, scalar_t* w) {
                                        inverse_range(p, begin, end, w);
                                      });
    });
  }
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(hvae, CPU, m) {
  m.impl("sylvester_triangular", &sylvester_triangular_cpu);
  m.impl("_sylvester_triangular_backward", &sylvester_triangular_backward_cpu);
  m.impl("sylvester_triangular_inverse", &sylvester_triangular_inverse_cpu);
}

}  // namespace hvae_ops
