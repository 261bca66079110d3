// Large tensors (>= 1 MiB) are recycled instead of freed: a training step allocates the same sizes every
// step, and a fresh block costs a page fault per 4 KiB page (the kernel zeroes each one) -- 5% of a
// transformer step before this cache. Sizes are rounded up to 8 classes per power of two (at most 12.5%
// slack) so similar shapes share blocks; at most kMaxCached bytes are kept, beyond that blocks are freed.
#include "allocator.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace backpropx {

namespace {

constexpr size_t kMinCached = size_t(1) << 20;
constexpr size_t kMaxCached = size_t(1) << 30;

size_t size_class(size_t nbytes) {
  if (nbytes < kMinCached) return ((nbytes + 63) / 64) * 64;
  size_t top = size_t(1) << (63 - __builtin_clzll(nbytes));  // highest power of two <= nbytes
  size_t step = top / 8;
  return ((nbytes + step - 1) / step) * step;
}

class BlockCache {
 public:
  void* take(size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(capacity);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= capacity;
    return p;
  }

  bool give(void* p, size_t capacity) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + capacity > kMaxCached) return false;
    free_[capacity].push_back(p);
    cached_ += capacity;
    return true;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

// Never destroyed: tensors held by Python may be freed after static destructors have run.
BlockCache& cache() {
  static BlockCache* instance = new BlockCache();
  return *instance;
}

}  // namespace

void* allocate_block(size_t nbytes, size_t* capacity) {
  *capacity = size_class(nbytes == 0 ? 1 : nbytes);
  if (*capacity >= kMinCached) {
    if (void* p = cache().take(*capacity)) return p;
  }
  return std::aligned_alloc(64, *capacity);
}

void free_block(void* p, size_t capacity) {
  if (capacity >= kMinCached && cache().give(p, capacity)) return;
  std::free(p);
}

void empty_block_cache() { cache().clear(); }

}  // namespace backpropx
