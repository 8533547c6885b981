// What a piece of code writes to stdout or stderr, for tests that check a command's exact
// messages. The descriptor is pointed at an unlinked temp file while the object lives (or until
// text()), then put back.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

namespace walferry::testing {

class CapturedOutput {
  public:
    // `fd`: STDOUT_FILENO or STDERR_FILENO.
    explicit CapturedOutput(int fd) : fd_(fd) {
        flush();
        char templ[] = "/tmp/walferry-output.XXXXXX";
        file_ = ::mkstemp(templ);
        if (file_ < 0) throw std::runtime_error("mkstemp failed");
        ::unlink(templ);
        saved_ = ::dup(fd_);
        if (saved_ < 0 || ::dup2(file_, fd_) < 0) throw std::runtime_error("dup failed");
    }
    ~CapturedOutput() {
        restore();
        ::close(file_);
    }
    CapturedOutput(const CapturedOutput&) = delete;
    CapturedOutput& operator=(const CapturedOutput&) = delete;

    // Everything written so far; the descriptor is put back.
    std::string text() {
        restore();
        std::string out;
        char buf[4096];
        for (off_t at = 0;;) {
            ssize_t n = ::pread(file_, buf, sizeof buf, at);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
            at += n;
        }
        return out;
    }

  private:
    static void flush() {
        std::cout.flush();
        std::fflush(stdout);
        std::fflush(stderr);
    }
    void restore() {
        if (saved_ < 0) return;
        flush();
        ::dup2(saved_, fd_);
        ::close(saved_);
        saved_ = -1;
    }

    int fd_;
    int file_ = -1;
    int saved_ = -1;
};

}  // namespace walferry::testing
