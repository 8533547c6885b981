// A file size limit (RLIMIT_FSIZE) for the lifetime of the object: a write() past it is short,
// the next one fails with EFBIG, for root too. SIGXFSZ, which would end the test, is ignored
// meanwhile.
#pragma once

#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <csignal>

class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t bytes) : old_handler_(std::signal(SIGXFSZ, SIG_IGN)) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
        struct rlimit small = old_;
        small.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    }
    FileSizeLimit(const FileSizeLimit&) = delete;
    FileSizeLimit& operator=(const FileSizeLimit&) = delete;
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
    }

  private:
    struct rlimit old_ {};
    void (*old_handler_)(int);
};
