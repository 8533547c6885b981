// Writing to a file descriptor: the whole buffer, or an Error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace walferry {

// Writes every byte of `bytes` to `fd`, retrying on EINTR and after short writes.
// Error(kIo) "cannot write \"<path>\": <strerror>" on failure.
void write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& path);
void write_all(int fd, std::string_view text, const std::string& path);

}  // namespace walferry
