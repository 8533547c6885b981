#include "temp_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace walferry {

TempFile::TempFile(const std::string& target) : path_(target + ".walferry-tmp.XXXXXX") {
    fd_.reset(::mkostemp(path_.data(), O_CLOEXEC));
    if (!fd_) throw_io("cannot create temporary file", path_, errno);
}

TempFile::~TempFile() {
    if (!committed_) ::unlink(path_.c_str());
}

void TempFile::write(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot write", path_, errno);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void TempFile::sync() {
    if (::fsync(fd_.get()) != 0) throw_io("cannot fsync", path_, errno);
}

void TempFile::commit(const std::string& target) {
    if (::close(fd_.release()) != 0) throw_io("cannot write", path_, errno);
    if (::rename(path_.c_str(), target.c_str()) != 0) throw_io("cannot rename to", target, errno);
    committed_ = true;
}

}  // namespace walferry
