// Asserting that a call fails with a given walferry::Error code, and looking at its message.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "base/error.h"

namespace test_errors {

// Runs `call`, which must throw walferry::Error with `code`. Returns the message so the caller can
// check what it says; records a failed check (and returns "") when nothing or something else is
// thrown.
template <class Call>
std::string error_message(walferry::ErrorCode code, Call&& call) {
    try {
        call();
    } catch (const walferry::Error& e) {
        INFO("message: " << e.what());
        CHECK(static_cast<int>(e.code()) == static_cast<int>(code));
        return e.what();
    } catch (const std::exception& e) {
        FAIL_CHECK("expected walferry::Error, got another exception: " << e.what());
        return "";
    }
    FAIL_CHECK("expected walferry::Error " << static_cast<int>(code) << ", nothing was thrown");
    return "";
}

// True when every byte of `text` is printable ASCII: messages must not carry raw control bytes
// from untrusted names or files.
inline bool printable(const std::string& text) {
    for (unsigned char c : text) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

}  // namespace test_errors
