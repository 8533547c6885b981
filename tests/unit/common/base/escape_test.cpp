#include "base/escape.h"

#include <catch2/catch.hpp>

using namespace walferry;

TEST_CASE("names in messages are escaped and bounded", "[escape]") {
    CHECK(escape_bytes("00000002.history") == "00000002.history");
    CHECK(escape_bytes(std::string_view("a\0\"\\\n\xff", 6)) == "a\\x00\\x22\\x5c\\x0a\\xff");
    CHECK(escape_bytes("abcdef", 3) == "abc...");
    CHECK(escape_bytes("abc", 3) == "abc");
}
