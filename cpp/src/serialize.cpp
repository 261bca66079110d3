// safetensors reading and writing: a small JSON writer/reader for the header, atomic writes (temporary
// file, fsync, rename), and a reader that validates every header field before touching the data.
#include "backpropx/serialize.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <unordered_set>

namespace backpropx {

static_assert(sizeof(bool) == 1, "safetensors BOOL is one byte per element");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors is little-endian; this reader/writer assumes a little-endian host"
#endif

namespace {

// ---- dtypes -------------------------------------------------------------------------------------------

const char* safetensors_dtype(DType t) {
  switch (t) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

// How a file dtype loads: into which of our dtypes, and from how many bytes per element (0: not loadable).
struct FileDType {
  DType dtype = DType::Float32;
  size_t file_size = 0;
  bool is_signed = true;  // for the integer types widened to int64
};

bool file_dtype(const std::string& name, FileDType& out) {
  struct Entry {
    const char* name;
    DType dtype;
    size_t size;
    bool is_signed;
  };
  static const Entry table[] = {
      {"F32", DType::Float32, 4, true}, {"F64", DType::Float64, 8, true}, {"I64", DType::Int64, 8, true},
      {"BOOL", DType::Bool, 1, false},  {"I32", DType::Int64, 4, true},   {"I16", DType::Int64, 2, true},
      {"I8", DType::Int64, 1, true},    {"U32", DType::Int64, 4, false},  {"U16", DType::Int64, 2, false},
      {"U8", DType::Int64, 1, false},
  };
  for (const Entry& e : table)
    if (name == e.name) {
      out = {e.dtype, e.size, e.is_signed};
      return true;
    }
  return false;
}

bool known_unsupported_dtype(const std::string& name) {
  static const char* names[] = {"F16", "BF16", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2",
                                "F4", "C64", "F128"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
}

// ---- JSON writer ----------------------------------------------------------------------------------------

void json_string(std::string& out, const std::string& s) {
  static const char hex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// ---- JSON reader ----------------------------------------------------------------------------------------

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  bool is_uint = false;  // a non-negative integer literal that fits uint64 (then `uint` holds it)
  uint64_t uint = 0;
  std::string str;
  std::vector<std::string> keys;  // Object: keys[i] names items[i]
  std::vector<Json> items;        // Array elements or Object values
};

class JsonParser {
 public:
  JsonParser(const char* data, size_t n, const std::string& where) : p_(data), end_(data + n), begin_(data), where_(where) {}

  Json parse_document() {
    Json v = value(0);
    skip_ws();
    if (p_ != end_) fail("unexpected characters after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;
  const char* p_;
  const char* end_;
  const char* begin_;
  const std::string& where_;

  [[noreturn]] void fail(const std::string& what) const {
    throw IOError(cat(where_, ": corrupt header: ", what, " at byte ", p_ - begin_ + 8));
  }
  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }

  Json value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64 levels");
    skip_ws();
    if (p_ == end_) fail("unexpected end of the header");
    Json v;
    switch (*p_) {
      case '{': object(v, depth); break;
      case '[': array(v, depth); break;
      case '"': v.kind = Json::String; v.str = string(); break;
      case 't': if (!literal("true")) fail("invalid literal"); v.kind = Json::Bool; v.boolean = true; break;
      case 'f': if (!literal("false")) fail("invalid literal"); v.kind = Json::Bool; break;
      case 'n': if (!literal("null")) fail("invalid literal"); break;
      default: number(v);
    }
    return v;
  }

  void object(Json& v, int depth) {
    v.kind = Json::Object;
    ++p_;  // '{'
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return;
    }
    std::unordered_set<std::string> seen;
    while (true) {
      skip_ws();
      if (p_ == end_ || *p_ != '"') fail("expected a string key");
      std::string key = string();
      if (!seen.insert(key).second) fail(cat("duplicate key \"", key, "\""));
      skip_ws();
      if (p_ == end_ || *p_ != ':') fail("expected ':'");
      ++p_;
      v.keys.push_back(std::move(key));
      v.items.push_back(value(depth + 1));
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ != end_ && *p_ == '}') {
        ++p_;
        return;
      }
      fail("expected ',' or '}'");
    }
  }

  void array(Json& v, int depth) {
    v.kind = Json::Array;
    ++p_;  // '['
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return;
    }
    while (true) {
      v.items.push_back(value(depth + 1));
      skip_ws();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ != end_ && *p_ == ']') {
        ++p_;
        return;
      }
      fail("expected ',' or ']'");
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      char c = *p_;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) fail("invalid \\u escape");
      cp = cp * 16 + static_cast<uint32_t>(d);
    }
    return cp;
  }

  std::string string() {
    ++p_;  // opening quote
    std::string out;
    while (true) {
      if (p_ == end_) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return out;
      if (c < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (p_ == end_) fail("unterminated escape");
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // high surrogate: a low one must follow
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail("unpaired surrogate in \\u escape");
            p_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("invalid escape");
      }
    }
  }

  void number(Json& v) {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    const char* digits = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == digits) fail("invalid value");
    bool integral = true;
    if (p_ != end_ && *p_ == '.') {
      integral = false;
      ++p_;
      const char* frac = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == frac) fail("invalid number");
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exp = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      if (p_ == exp) fail("invalid number");
    }
    v.kind = Json::Number;
    if (integral && *start != '-') {
      uint64_t u = 0;
      bool fits = true;
      for (const char* q = digits; q != p_; ++q) {
        const uint64_t d = static_cast<uint64_t>(*q - '0');
        if (u > (std::numeric_limits<uint64_t>::max() - d) / 10) fits = false;
        u = u * 10 + d;
      }
      v.is_uint = fits;
      v.uint = fits ? u : 0;
    }
  }
};

// ---- file helpers -------------------------------------------------------------------------------------

std::string os_error() { return std::strerror(errno); }

// Closes a file descriptor on scope exit.
struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, const void* data, size_t n, const std::string& tmp_path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const size_t chunk = std::min<size_t>(n, size_t(1) << 30);
    ssize_t w = ::write(fd, p, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IOError(cat("write to ", tmp_path, " failed: ", os_error()));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

// Reads exactly n bytes at offset; the caller has checked [offset, offset + n) lies inside the file.
void read_at(int fd, void* data, size_t n, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const size_t chunk = std::min<size_t>(n, size_t(1) << 30);
    ssize_t r = ::pread(fd, p, chunk, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw IOError(cat(path, ": read failed: ", os_error()));
    }
    if (r == 0) throw IOError(cat(path, ": unexpected end of file (truncated while reading?)"));
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A new, exclusively created file next to `path`: "<path>.tmp.<pid>.<counter>".
int create_temp_next_to(const std::string& path, std::string& tmp_path) {
  static std::atomic<uint64_t> counter{0};
  const auto stamp = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp_path = cat(path, ".tmp.", ::getpid(), ".", stamp % 1000000007u, ".", counter++);
    int fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST) throw IOError(cat("save: can't create a temporary file next to ", path, ": ", os_error()));
  }
  throw IOError(cat("save: can't create a unique temporary file next to ", path));
}

// The header: {"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}, ...}, padded with spaces to a
// multiple of 8 bytes so the data starts aligned. data_begin[i] is tensor i's offset in the data section.
std::string make_header(const NamedTensors& tensors, const StringPairs& metadata, const std::vector<uint64_t>& begin) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      if (i) h += ',';
      json_string(h, metadata[i].first);
      h += ':';
      json_string(h, metadata[i].second);
    }
    h += '}';
    first = false;
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i].second;
    if (!first) h += ',';
    first = false;
    json_string(h, tensors[i].first);
    h += ":{\"dtype\":\"";
    h += safetensors_dtype(t.dtype());
    h += "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) h += (d ? "," : "") + std::to_string(t.shape()[d]);
    h += "],\"data_offsets\":[" + std::to_string(begin[i]) + "," +
         std::to_string(begin[i] + static_cast<uint64_t>(t.numel()) * element_size(t.dtype())) + "]}";
  }
  h += '}';
  while (h.size() % 8 != 0) h += ' ';
  return h;
}

// Widens n little-endian integers of `size` bytes to int64.
void widen_to_int64(const unsigned char* src, int64_t* dst, int64_t n, size_t size, bool is_signed) {
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* b = src + i * size;
    uint64_t u = 0;
    for (size_t k = 0; k < size; ++k) u |= static_cast<uint64_t>(b[k]) << (8 * k);
    int64_t v = static_cast<int64_t>(u);
    if (is_signed && size < 8 && (u >> (8 * size - 1)) & 1) v = static_cast<int64_t>(u | (~uint64_t(0) << (8 * size)));
    dst[i] = v;
  }
}

}  // namespace

// ---- save ---------------------------------------------------------------------------------------------

namespace {

// Where a save lands: a symbolic link's target (the atomic rename must replace the file, not the
// link); an existing path that is not a regular file (a device, a FIFO, a directory) is refused.
std::string resolve_save_target(const std::string& path) {
  BPX_CHECK(!path.empty(), ValueError, "save: empty path");
  std::string target = path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::unique_ptr<char, decltype(&std::free)> real(::realpath(path.c_str(), nullptr), &std::free);
    BPX_CHECK(real != nullptr, IOError, "save: ", path, " is a symbolic link to a missing file or folder: ", os_error());
    target = real.get();
  }
  if (::stat(target.c_str(), &st) == 0)
    BPX_CHECK(S_ISREG(st.st_mode), IOError, "save: ", path, " exists and is not a regular file; refusing to replace it");
  return target;
}

}  // namespace

void save_safetensors(const std::string& path_in, const NamedTensors& tensors, const StringPairs& metadata) {
  const std::string path = resolve_save_target(path_in);
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) {
    BPX_CHECK(!name.empty() && name != "__metadata__", ValueError, "save: invalid tensor name \"", name,
              "\" for ", path);
    BPX_CHECK(t.defined(), ValueError, "save: tensor \"", name, "\" is undefined");
    BPX_CHECK(t.device().type == DeviceType::CPU, ValueError, "save: tensor \"", name, "\" is on ", t.device().str(),
              "; move it to the CPU first");
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  BPX_CHECK(dup == names.end(), ValueError, "save: duplicate tensor name \"", dup == names.end() ? "" : *dup,
            "\" for ", path);

  // Data layout: widest elements first so every tensor starts aligned to its element size.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return element_size(tensors[a].second.dtype()) > element_size(tensors[b].second.dtype());
  });
  std::vector<uint64_t> begin(tensors.size());
  uint64_t offset = 0;
  for (size_t i : order) {
    begin[i] = offset;
    offset += static_cast<uint64_t>(tensors[i].second.numel()) * element_size(tensors[i].second.dtype());
  }
  const std::string header = make_header(tensors, metadata, begin);

  std::string tmp_path;
  FdCloser file{create_temp_next_to(path, tmp_path)};
  try {
    uint64_t n = header.size();
    unsigned char len[8];
    for (int k = 0; k < 8; ++k) len[k] = static_cast<unsigned char>(n >> (8 * k));
    write_all(file.fd, len, 8, tmp_path);
    write_all(file.fd, header.data(), header.size(), tmp_path);
    for (size_t i : order) {
      const Tensor t = tensors[i].second.contiguous();  // a copy only for non-contiguous views
      write_all(file.fd, t.raw_data(), static_cast<size_t>(t.numel()) * element_size(t.dtype()), tmp_path);
    }
    if (::fsync(file.fd) != 0) throw IOError(cat("save: fsync of ", tmp_path, " failed: ", os_error()));
    const int fd = file.fd;
    file.fd = -1;
    if (::close(fd) != 0) throw IOError(cat("save: closing ", tmp_path, " failed: ", os_error()));
    if (::rename(tmp_path.c_str(), path.c_str()) != 0)
      throw IOError(cat("save: can't move the checkpoint into place at ", path, ": ", os_error()));
  } catch (...) {
    if (file.fd >= 0) {
      ::close(file.fd);
      file.fd = -1;
    }
    ::unlink(tmp_path.c_str());
    throw;
  }
  // Make the rename itself durable (best effort: some filesystems refuse fsync on directories).
  int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
}

// ---- load ---------------------------------------------------------------------------------------------

SafetensorsContents load_safetensors(const std::string& path) {
  struct stat before {};
  BPX_CHECK(::stat(path.c_str(), &before) == 0, IOError, "load: can't open ", path, ": ", os_error());
  BPX_CHECK(S_ISREG(before.st_mode), IOError, "load: ", path, " is not a regular file");  // a FIFO would block open()
  FdCloser file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  BPX_CHECK(file.fd >= 0, IOError, "load: can't open ", path, ": ", os_error());
  struct stat st {};
  BPX_CHECK(::fstat(file.fd, &st) == 0, IOError, "load: can't stat ", path, ": ", os_error());
  BPX_CHECK(S_ISREG(st.st_mode), IOError, "load: ", path, " is not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  BPX_CHECK(file_size >= 8, IOError, path, ": not a safetensors file: ", file_size,
            " bytes, shorter than the 8-byte header length (truncated?)");

  unsigned char len[8];
  read_at(file.fd, len, 8, 0, path);
  uint64_t header_len = 0;
  for (int k = 0; k < 8; ++k) header_len |= static_cast<uint64_t>(len[k]) << (8 * k);
  BPX_CHECK(header_len <= kMaxSafetensorsHeaderBytes, IOError, path, ": header length ", header_len,
            " bytes exceeds the limit of ", kMaxSafetensorsHeaderBytes, " (corrupt, or not a safetensors file)");
  BPX_CHECK(header_len <= file_size - 8, IOError, path, ": header length ", header_len, " bytes but the file has only ",
            file_size - 8, " bytes after the length field (truncated?)");
  BPX_CHECK(header_len >= 2, IOError, path, ": header of ", header_len, " bytes is too short to be a JSON object");

  std::string header(header_len, '\0');
  read_at(file.fd, header.data(), header_len, 8, path);
  const Json root = JsonParser(header.data(), header.size(), path).parse_document();
  BPX_CHECK(root.kind == Json::Object, IOError, path, ": corrupt header: expected a JSON object at the top level");

  const uint64_t data_start = 8 + header_len, data_size = file_size - data_start;
  SafetensorsContents out;
  struct Planned {
    FileDType fdt;
    uint64_t begin, end;
  };
  std::vector<Planned> plans;
  for (size_t k = 0; k < root.keys.size(); ++k) {
    const std::string& name = root.keys[k];
    const Json& v = root.items[k];
    if (name == "__metadata__") {
      BPX_CHECK(v.kind == Json::Object, IOError, path, ": corrupt header: __metadata__ must be an object");
      for (size_t m = 0; m < v.keys.size(); ++m) {
        BPX_CHECK(v.items[m].kind == Json::String, IOError, path, ": corrupt header: __metadata__ value of \"",
                  v.keys[m], "\" is not a string");
        out.metadata.emplace_back(v.keys[m], v.items[m].str);
      }
      continue;
    }
    BPX_CHECK(v.kind == Json::Object, IOError, path, ": corrupt header: entry \"", name, "\" is not an object");
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (size_t f = 0; f < v.keys.size(); ++f) {
      if (v.keys[f] == "dtype") dtype = &v.items[f];
      else if (v.keys[f] == "shape") shape = &v.items[f];
      else if (v.keys[f] == "data_offsets") offsets = &v.items[f];
    }
    BPX_CHECK(dtype && shape && offsets, IOError, path, ": corrupt header: tensor \"", name,
              "\" needs \"dtype\", \"shape\" and \"data_offsets\"");
    BPX_CHECK(dtype->kind == Json::String, IOError, path, ": corrupt header: dtype of \"", name, "\" is not a string");
    FileDType fdt;
    if (!file_dtype(dtype->str, fdt)) {
      BPX_CHECK(!known_unsupported_dtype(dtype->str), TypeError, path, ": tensor \"", name, "\" has dtype ",
                dtype->str, ", which backpropx does not support (it has F32, F64, I64 and BOOL; integer types "
                "I8..I32/U8..U32 are widened to I64): convert it to float32 before saving");
      throw TypeError(cat(path, ": tensor \"", name, "\" has an unknown dtype \"", dtype->str, "\""));
    }
    BPX_CHECK(shape->kind == Json::Array, IOError, path, ": corrupt header: shape of \"", name, "\" is not a list");
    Shape dims;
    uint64_t numel = 1;  // saturates at the overflow limit; 0 as soon as a dimension is 0
    bool overflow = false, has_zero = false;
    for (const Json& d : shape->items) {
      BPX_CHECK(d.kind == Json::Number && d.is_uint && d.uint <= uint64_t(std::numeric_limits<int64_t>::max()),
                IOError, path, ": corrupt header: shape of \"", name, "\" must hold non-negative integers");
      dims.push_back(static_cast<int64_t>(d.uint));
      if (d.uint == 0) has_zero = true;
      else if (numel > std::numeric_limits<int64_t>::max() / fdt.file_size / d.uint) overflow = true;
      else numel *= d.uint;
    }
    if (has_zero) numel = 0;
    BPX_CHECK(!overflow || has_zero, IOError, path, ": corrupt header: shape of \"", name, "\" ", shape_str(dims),
              " is impossibly large");
    BPX_CHECK(offsets->kind == Json::Array && offsets->items.size() == 2 && offsets->items[0].kind == Json::Number &&
                  offsets->items[0].is_uint && offsets->items[1].kind == Json::Number && offsets->items[1].is_uint,
              IOError, path, ": corrupt header: data_offsets of \"", name, "\" must be two non-negative integers");
    const uint64_t b = offsets->items[0].uint, e = offsets->items[1].uint;
    BPX_CHECK(b <= e, IOError, path, ": corrupt header: data_offsets [", b, ", ", e, "] of \"", name,
              "\" end before they begin");
    BPX_CHECK(e - b == numel * fdt.file_size, IOError, path, ": corrupt header: tensor \"", name, "\" of shape ",
              shape_str(dims), " and dtype ", dtype->str, " needs ", numel * fdt.file_size,
              " bytes but its data_offsets [", b, ", ", e, "] span ", e - b);
    BPX_CHECK(e <= data_size, IOError, path, ": data_offsets [", b, ", ", e, "] of \"", name,
              "\" lie past the end of the data (", data_size, " bytes): the file is truncated or corrupt");
    out.tensors.emplace_back(name, Tensor::empty(dims, fdt.dtype));
    plans.push_back({fdt, b, e});
  }

  // No two tensors may share bytes.
  std::vector<size_t> by_begin(plans.size());
  std::iota(by_begin.begin(), by_begin.end(), size_t(0));
  std::sort(by_begin.begin(), by_begin.end(), [&](size_t a, size_t b) { return plans[a].begin < plans[b].begin; });
  for (size_t k = 1; k < by_begin.size(); ++k) {
    const Planned &prev = plans[by_begin[k - 1]], &cur = plans[by_begin[k]];
    BPX_CHECK(cur.begin >= prev.end || cur.begin == cur.end || prev.begin == prev.end, IOError, path,
              ": corrupt header: data_offsets of \"", out.tensors[by_begin[k - 1]].first, "\" and \"",
              out.tensors[by_begin[k]].first, "\" overlap");
  }

  for (size_t i = 0; i < plans.size(); ++i) {
    const Planned& pl = plans[i];
    Tensor& t = out.tensors[i].second;
    const size_t nbytes = static_cast<size_t>(pl.end - pl.begin);
    if (nbytes == 0) continue;
    if (element_size(t.dtype()) == pl.fdt.file_size) {
      read_at(file.fd, t.raw_data(), nbytes, data_start + pl.begin, path);
      if (t.dtype() == DType::Bool) {  // any non-zero byte is true; keep bools canonical (0 or 1)
        auto* p = static_cast<unsigned char*>(t.raw_data());
        for (size_t j = 0; j < nbytes; ++j) p[j] = p[j] != 0;
      }
    } else {
      std::vector<unsigned char> raw(nbytes);
      read_at(file.fd, raw.data(), nbytes, data_start + pl.begin, path);
      widen_to_int64(raw.data(), t.data<int64_t>(), t.numel(), pl.fdt.file_size, pl.fdt.is_signed);
    }
  }
  return out;
}

}  // namespace backpropx
