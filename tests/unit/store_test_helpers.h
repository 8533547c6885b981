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

}  // namespace walferry::testing
