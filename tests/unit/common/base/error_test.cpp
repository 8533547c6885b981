#include "base/error.h"

#include <catch2/catch.hpp>

using namespace walferry;

TEST_CASE("every error maps to an archive_command-safe exit status", "[error]") {
    for (int i = 1; i <= static_cast<int>(kLastErrorCode); ++i) {
        auto code = static_cast<ErrorCode>(i);
        CHECK(exit_code(code) >= 1);
        CHECK(exit_code(code) <= 125);
        CHECK_FALSE(error_name(code).empty());
    }
    CHECK(exit_code(ErrorCode::kUsage) == 2);
    CHECK(exit_code(ErrorCode::kConflict) == 5);
    CHECK(error_tag(ErrorCode::kConflict) == "WF008");
}

TEST_CASE("a code outside the catalogue is reported as internal", "[error]") {
    const auto unknown = static_cast<ErrorCode>(static_cast<int>(kLastErrorCode) + 1);
    CHECK(exit_code(unknown) == exit_code(ErrorCode::kInternal));
    CHECK(exit_code(unknown) == 11);
    CHECK(error_name(unknown) == "internal");
    CHECK(exit_code(static_cast<ErrorCode>(0)) == 11);
}

TEST_CASE("fetch stops targeted recovery on anything but not-found", "[error]") {
    CHECK(fetch_exit_code(ErrorCode::kNotFound, true) == 1);
    CHECK(fetch_exit_code(ErrorCode::kChecksumMismatch, false) == 1);
    CHECK(fetch_exit_code(ErrorCode::kChecksumMismatch, true) == 255);
    CHECK(fetch_exit_code(ErrorCode::kUnavailable, true) == 255);
    CHECK(fetch_exit_code(ErrorCode::kConfig, true) == 255);
    // A broken restore_command (bad option, swapped %f %p) must stop recovery too: PostgreSQL
    // reads 2 or 3 as "not found" and would end it early.
    CHECK(fetch_exit_code(ErrorCode::kUsage, true) == 255);
    CHECK(fetch_exit_code(ErrorCode::kInvalidName, true) == 255);
    CHECK(fetch_exit_code(ErrorCode::kUsage, false) == 2);
    CHECK(fetch_exit_code(ErrorCode::kInvalidName, false) == 3);
    CHECK(fetch_exit_code(ErrorCode::kNotFound, false) == 1);
}

TEST_CASE("io errors quote the path and give the OS text", "[error]") {
    try {
        throw_io("cannot open", "/x/y", ENOENT);
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kIo);
        CHECK(std::string(e.what()) == "cannot open \"/x/y\": No such file or directory");
    }
}

TEST_CASE("cleanup exits like pg_archivecleanup: 2 usage, 1 runtime", "[error]") {
    CHECK(cleanup_exit_code(ErrorCode::kUsage) == 2);
    CHECK(cleanup_exit_code(ErrorCode::kInvalidName) == 2);
    CHECK(cleanup_exit_code(ErrorCode::kIo) == 1);
    CHECK(cleanup_exit_code(ErrorCode::kUnavailable) == 1);
    CHECK(cleanup_exit_code(ErrorCode::kInvalidState) == 1);
}
