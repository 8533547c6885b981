#include "cli/tool_main.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <stdexcept>

using namespace walferry;

namespace {

// What `f` writes to file descriptor 2.
template <typename F>
std::string stderr_of(F&& f) {
    std::fflush(stderr);
    FILE* tmp = std::tmpfile();
    REQUIRE(tmp);
    const int saved = ::dup(2);
    ::dup2(::fileno(tmp), 2);
    f();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::rewind(tmp);
    std::string out;
    char buf[256];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

// report_escaped_exception as main()'s function-try-block handler calls it.
template <typename Exception>
int escaped(const Exception& e, std::string& err,
            const std::function<int(ErrorCode)>& exit_for = exit_code) {
    int status = -1;
    err = stderr_of([&] {
        try {
            throw e;
        } catch (...) {
            status = report_escaped_exception("walferry-test", exit_for);
        }
    });
    return status;
}

}  // namespace

TEST_CASE("an exception escaping main is one error line and exit_for's status", "[tool_main]") {
    std::string err;
    CHECK(escaped(std::logic_error("option name is empty"), err) == 11);
    CHECK(err == "walferry-test: error: internal error: option name is empty\n");
    CHECK(escaped(std::logic_error("x"), err, cleanup_exit_code) == 1);
    CHECK(escaped(Error(ErrorCode::kConfig, "bad key"), err) == 7);
    CHECK(err == "walferry-test: error: bad key (WF010)\n");
}

TEST_CASE("an escaping exception of no std type exits 255", "[tool_main]") {
    std::string err;
    CHECK(escaped(42, err) == kExitStopRecovery);
    CHECK(err == "walferry-test: error: internal error\n");
}
