// A small emulation of the CUDA execution model on the host, so that the
// kernel templates of csrc/hvae/kernels/ can run in the C++ tests on machines
// without a GPU: one std::thread per CUDA thread, one block at a time, a real
// barrier for __syncthreads, and warp shuffles through a per-warp exchange.
// It checks indexing, ownership and synchronisation, not speed.
//
// Include it before a kernel header. The shuffles need every lane of the warp
// (the kernels only shuffle convergently); float, double and integers up to
// 2^53 round-trip through the exchange's doubles exactly.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace emu {

struct Dim3 {
  unsigned x = 0, y = 0, z = 0;
};

class Barrier {
 public:
  explicit Barrier(int count) : count_(count) {}
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    const long generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return generation_ != generation; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_, waiting_ = 0;
  long generation_ = 0;
};

inline thread_local Dim3 thread_idx, block_idx;
inline Dim3 block_dim, grid_dim;
inline Barrier* block_barrier = nullptr;
inline std::vector<Barrier*> warp_barriers;
inline double shuffle_slots[1024];

// Lane `lane` of the caller's warp reads the value that lane `src` offered.
template <typename T>
T exchange(T value, int src) {
  const int t = static_cast<int>(thread_idx.x), warp_base = t & ~31;
  shuffle_slots[t] = static_cast<double>(value);
  warp_barriers[t >> 5]->wait();
  const T out = static_cast<T>(shuffle_slots[warp_base + src]);
  warp_barriers[t >> 5]->wait();
  return out;
}

// Runs `body` as grid x threads emulated threads (threads a multiple of 32),
// one block at a time; `before_block` runs before each block (e.g. to fill
// shared memory with garbage, as on a GPU).
inline void launch(int grid, int threads, const std::function<void()>& body,
                   const std::function<void()>& before_block = {}) {
  block_dim.x = static_cast<unsigned>(threads);
  grid_dim.x = static_cast<unsigned>(grid);
  for (int blk = 0; blk < grid; ++blk) {
    Barrier block(threads);
    std::vector<std::unique_ptr<Barrier>> warps;
    warp_barriers.clear();
    for (int w = 0; w < threads / 32; ++w) {
      warps.emplace_back(new Barrier(32));
      warp_barriers.push_back(warps.back().get());
    }
    block_barrier = &block;
    if (before_block) before_block();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        thread_idx.x = static_cast<unsigned>(t);
        block_idx.x = static_cast<unsigned>(blk);
        body();
      });
    }
    for (auto& th : pool) th.join();
  }
}

}  // namespace emu

#define threadIdx emu::thread_idx
#define blockIdx emu::block_idx
#define blockDim emu::block_dim
#define gridDim emu::grid_dim
#define __syncthreads() emu::block_barrier->wait()
#define __global__
#define __device__
#define __shared__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __align__(x) __attribute__((aligned(x)))

template <typename T>
T __shfl_down_sync(unsigned, T value, int offset) {
  const int lane = static_cast<int>(threadIdx.x) & 31;
  const T other = emu::exchange(value, lane + offset < 32 ? lane + offset : lane);
  return lane + offset < 32 ? other : value;
}

template <typename T>
T __shfl_xor_sync(unsigned, T value, int mask) {
  return emu::exchange(value, (static_cast<int>(threadIdx.x) & 31) ^ mask);
}

template <typename T>
T __shfl_sync(unsigned, T value, int src) {
  return emu::exchange(value, src & 31);
}
