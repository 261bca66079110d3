// Checkpoints in the safetensors format (cpp/src/serialize.cpp), usable from C++ without Python:
//   8-byte little-endian header length N, N bytes of JSON header
//   {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...},
//   then the raw little-endian tensor bytes (offsets relative to the end of the header).
//
//   save_safetensors("model.safetensors", {{"fc.weight", w}, {"fc.bias", b}}, {{"format", "pt"}});
//   auto [tensors, metadata] = load_safetensors("model.safetensors");
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backpropx/tensor.h"

namespace backpropx {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using StringPairs = std::vector<std::pair<std::string, std::string>>;

// Largest JSON header accepted when reading: a guard against corrupt or hostile files.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull * 1024 * 1024;

// Writes the tensors (any strides: each is stored contiguously) and the string metadata. Atomic: the
// bytes go to a temporary file in the same directory, which is fsync'ed and renamed over `path`; on
// any failure the temporary file is removed, the old `path` is left untouched and IOError is thrown.
// Names must be unique, non-empty and not "__metadata__" (ValueError).
void save_safetensors(const std::string& path, const NamedTensors& tensors, const StringPairs& metadata = {});

struct SafetensorsContents {
  NamedTensors tensors;  // in header order
  StringPairs metadata;  // the header's "__metadata__", in file order
};

// Reads a safetensors file. F32, F64, I64 and BOOL load as they are; I8/I16/I32/U8/U16/U32 are widened
// to int64. F16/BF16 and other dtypes raise TypeError. A truncated or corrupt file (bad header length,
// header over kMaxSafetensorsHeaderBytes, malformed JSON, bad shapes, data_offsets that overlap, do not
// match the shape or lie past the end of the file) raises IOError naming the file and the problem;
// nothing is read out of bounds. Unused bytes between tensors are tolerated; each tensor is read into
// its own new storage (no memory map).
SafetensorsContents load_safetensors(const std::string& path);

}  // namespace backpropx
