#include "temp_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "error.h"

namespace walferry {

TempFile::TempFile(const std::string& target)
    : dir_fd_(AT_FDCWD), path_(target + ".walferry-tmp.XXXXXX") {
    fd_.reset(::mkostemp(path_.data(), O_CLOEXEC));
    if (!fd_) throw_io("cannot create temporary file", path_, errno);
    where_ = path_;
}

TempFile::TempFile(int dir_fd, const std::string& target, const std::string& where)
    : dir_fd_(dir_fd) {
    std::random_device random;
    for (int attempt = 0; !fd_; ++attempt) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "%06x", random() & 0xFFFFFF);
        path_ = target + ".walferry-tmp." + suffix;
        where_ = where + "/" + path_;
        fd_.reset(::openat(dir_fd_, path_.c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd_ && (errno != EEXIST || attempt > 100)) {
            throw_io("cannot create temporary file", where_, errno);
        }
    }
}

TempFile::~TempFile() {
    if (!committed_) ::unlinkat(dir_fd_, path_.c_str(), 0);
}

void TempFile::write(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot write", where_, errno);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void TempFile::sync() {
    if (::fsync(fd_.get()) != 0) throw_io("cannot fsync", where_, errno);
}

void TempFile::commit(const std::string& target) {
    if (::close(fd_.release()) != 0) throw_io("cannot write", where_, errno);
    if (::renameat(dir_fd_, path_.c_str(), dir_fd_, target.c_str()) != 0) {
        throw_io("cannot rename to", target, errno);
    }
    committed_ = true;
}

}  // namespace walferry
