// What the fuzz targets share: a check that aborts with a message (so libFuzzer records the input
// as a crash), and the rule for rejections. walferry::Error with the documented code is the only
// expected way for a parser to say no; any other exception escapes and aborts the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>

#include "base/error.h"

namespace walferry::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
    std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
    std::abort();
}

#define WALFERRY_FUZZ_CHECK(cond) \
    ((cond) ? static_cast<void>(0) : ::walferry::fuzz::fail(__FILE__, __LINE__, #cond))

// A rejection must carry the documented code and a one-line message without raw untrusted bytes
// (names and file contents are shown escaped: printable ASCII only).
inline void check_rejection(const Error& error, ErrorCode expected) {
    std::string_view message = error.what();
    bool printable = !message.empty();
    for (char c : message) {
        auto u = static_cast<unsigned char>(c);
        printable = printable && u >= 0x20 && u < 0x7f;
    }
    if (error.code() != expected || !printable) {
        std::fprintf(stderr, "unexpected rejection: code %d (expected %d), message \"%s\"\n",
                     static_cast<int>(error.code()), static_cast<int>(expected), error.what());
        WALFERRY_FUZZ_CHECK(error.code() == expected);
        WALFERRY_FUZZ_CHECK(printable);
    }
}

// Runs `parse`; its result if it accepts, nullopt if it rejects with the expected code.
template <typename Parse>
auto accepted(ErrorCode expected, Parse&& parse) -> std::optional<decltype(parse())> {
    try {
        return parse();
    } catch (const Error& e) {
        check_rejection(e, expected);
        return std::nullopt;
    }
}

// Reference reading of 1..8 hex digits, written independently of the code under test.
inline std::optional<std::uint32_t> parse_hex(std::string_view s, bool lower_case_ok) {
    if (s.empty() || s.size() > 8) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : s) {
        unsigned digit;
        if (c >= '0' && c <= '9') {
            digit = static_cast<unsigned>(c - '0');
        } else if (c >= 'A' && c <= 'F') {
            digit = static_cast<unsigned>(c - 'A' + 10);
        } else if (lower_case_ok && c >= 'a' && c <= 'f') {
            digit = static_cast<unsigned>(c - 'a' + 10);
        } else {
            return std::nullopt;
        }
        value = value << 4 | digit;
    }
    return value;
}

inline std::string_view as_text(std::span<const std::uint8_t> data) {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// Each target defines this: one input of libFuzzer, checked (the entry point below calls it).
void test_one_input(std::span<const std::uint8_t> data);

}  // namespace walferry::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    walferry::fuzz::test_one_input({data, size});
    return 0;
}
