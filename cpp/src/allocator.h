// The CPU allocator behind Storage: 64-byte aligned blocks, large ones recycled between training steps.
#pragma once
#include <cstddef>

namespace backpropx {

// A 64-byte aligned block of at least nbytes; nullptr when out of memory.
void* allocate_block(size_t nbytes, size_t* capacity);

// Returns a block from allocate_block (capacity as it reported).
void free_block(void* p, size_t capacity);

// Frees every cached block (the memory goes back to the system).
void empty_block_cache();

}  // namespace backpropx
