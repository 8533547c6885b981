#include "base/fd_io.h"

#include <unistd.h>

#include <cerrno>

#include "base/error.h"

namespace walferry {

void write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& path) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot write", path, errno);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void write_all(int fd, std::string_view text, const std::string& path) {
    write_all(fd, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, path);
}

}  // namespace walferry
