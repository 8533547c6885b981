// Small helpers shared by the storage-layer unit tests.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "store/store.h"

namespace walferry::testing {

// The walferry::Error that `fn` throws; a test failure if it throws none.
inline Error error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e;
    }
    FAIL("expected a walferry::Error, none was thrown");
    return Error(ErrorCode::kInternal, "");
}

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// put() of the concatenation a + b, as two parts.
inline bool put_text(Store& store, std::string_view name, std::string_view a,
                     std::string_view b = {}) {
    const std::span<const std::uint8_t> parts[] = {bytes_of(a), bytes_of(b)};
    return store.put(name, parts);
}

// Every entry of directory `dir`, hidden ones included, sorted.
inline std::vector<std::string> names_in(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

// Sets the access and modification times of `path` (a link itself, not what it points to)
// `seconds` into the past.
inline void set_age(const std::string& path, int seconds) {
    struct timespec times[2];
    ::clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= seconds;
    times[1] = times[0];
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace walferry::testing
