// Exceptions of backpropx. Every error derives from backpropx::Error; the Python module maps each
// subclass to the Python exception of the same name (ValueError, IndexError, TypeError, ...).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace backpropx {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ValueError : Error {  // wrong shapes, bad argument values
  using Error::Error;
};
struct IndexError : Error {  // an index or id out of range
  using Error::Error;
};
struct TypeError : Error {  // wrong dtype or argument type
  using Error::Error;
};
struct RuntimeError : Error {  // autograd misuse: freed graph, modified saved tensor, ...
  using Error::Error;
};
struct NotImplementedError : Error {
  using Error::Error;
};
struct IOError : Error {  // unreadable, truncated or corrupt files
  using Error::Error;
};

namespace detail {
inline void stream_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void stream_all(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  stream_all(os, rest...);
}
}  // namespace detail

template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  detail::stream_all(os, parts...);
  return os.str();
}

}  // namespace backpropx

// BPX_CHECK(cond, ValueError, "linear: ", shape_str(x), " vs ", ...) throws ErrorType(message).
#define BPX_CHECK(cond, ErrorType, ...)                         \
  do {                                                          \
    if (!(cond)) throw ::backpropx::ErrorType(::backpropx::cat(__VA_ARGS__)); \
  } while (0)
