#include "archive/sha256.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/error.h"

using namespace walferry;

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string hex_error(std::string_view hex) {
    try {
        digest_from_hex(hex);
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kInvalidContainer);
        return e.what();
    }
    FAIL("no error for \"" << hex << "\"");
    return {};
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-2 test vectors", "[sha256]") {
    CHECK(to_hex(sha256(bytes_of(""))) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(to_hex(sha256(bytes_of("abc"))) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(sha256(bytes_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    std::string million(1000000, 'a');
    CHECK(to_hex(sha256(bytes_of(million))) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 fed in pieces equals the one-shot digest", "[sha256]") {
    std::string text;
    for (int i = 0; i < 5000; ++i) text += std::to_string(i * 7919) + ",";
    Sha256Digest whole = sha256(bytes_of(text));
    for (std::size_t piece : {1u, 3u, 63u, 64u, 65u, 4096u}) {
        Sha256 h;
        for (std::size_t at = 0; at < text.size(); at += piece) {
            h.update(bytes_of(std::string_view(text).substr(at, piece)));
        }
        h.update({});  // empty updates change nothing
        CHECK(h.finish() == whole);
    }
}

TEST_CASE("sha256 finish may be called once", "[sha256]") {
    Sha256 h;
    h.finish();
    CHECK_THROWS_MATCHES(h.finish(), Error, Catch::Matchers::Predicate<Error>([](const Error& e) {
                             return e.code() == ErrorCode::kInternal;
                         }));
    CHECK_THROWS_AS(h.update(bytes_of("x")), Error);
}

TEST_CASE("hex digests round-trip and bad hex is refused", "[sha256]") {
    Sha256Digest d = sha256(bytes_of("walferry"));
    CHECK(digest_from_hex(to_hex(d)) == d);
    std::string upper = to_hex(d);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(digest_from_hex(upper) == d);
    CHECK_THAT(hex_error(""), Catch::Contains("expected 64 hex digits, got 0"));
    CHECK_THAT(hex_error(to_hex(d) + "0"), Catch::Contains("got 65"));
    std::string bad = to_hex(d);
    bad[10] = 'g';
    CHECK_THAT(hex_error(bad), Catch::Contains("character 11 is not a hex digit"));
    bad = to_hex(d);
    bad[63] = '\n';
    CHECK_THAT(hex_error(bad), Catch::Contains("character 64"));
}
