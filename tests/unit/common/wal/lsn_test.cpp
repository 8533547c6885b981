#include "wal/lsn.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "expect_error.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kGiB = 1 << 30;

}  // namespace

TEST_CASE("LSNs parse as PostgreSQL prints them, padded or not, either case", "[lsn]") {
    CHECK(parse_lsn("16/B374D848").value == 0x16B374D848ull);
    CHECK(parse_lsn("0/0").value == 0);
    CHECK(parse_lsn("0/0A000060") == parse_lsn("0/A000060"));
    CHECK(parse_lsn("0/A000060").value == 0x0A000060ull);
    CHECK(parse_lsn("16/b374d848") == parse_lsn("16/B374D848"));
    CHECK(parse_lsn("aB/cDeF").value == 0xAB0000CDEFull);
    CHECK(parse_lsn("00000016/0000000B").value == 0x160000000Bull);
    CHECK(parse_lsn("FFFFFFFF/FFFFFFFF").value == 0xFFFFFFFFFFFFFFFFull);
    CHECK(parse_lsn("1/0").value == 0x100000000ull);
}

TEST_CASE("malformed LSNs are rejected naming the input", "[lsn]") {
    const std::vector<std::string> bad = {
        "",
        "/",
        "16",
        "16B374D848",
        "16/",
        "/B374D848",
        "16/B374D848/0",
        "16//B374D848",
        "16/1B374D848",  // 9 hex digits
        "000000016/0",
        "16/B374D848 ",
        " 16/B374D848",
        "16 /B374D848",
        "16/ B374D848",
        "+16/B374D848",
        "-16/B374D848",
        "16/+B374D848",
        "16/-1",
        "0x16/B374D848",
        "16/0xB374D848",
        "G/0",
        "16/B374D84G",
        "16.B374D848",
        "16/B374D848\n",
        std::string("16/B374\0D848", 12),
    };
    for (const std::string& text : bad) {
        INFO("input: " << text);
        std::string msg = error_message(ErrorCode::kInvalidLsn, [&] { parse_lsn(text); });
        CHECK(test_errors::printable(msg));
        if (!text.empty() && test_errors::printable(text)) CHECK_THAT(msg, Contains(text));
    }
}

TEST_CASE("LSNs format upper-case with unpadded halves", "[lsn]") {
    CHECK(format_lsn(Lsn{0x16B374D848ull}) == "16/B374D848");
    CHECK(format_lsn(Lsn{0}) == "0/0");
    CHECK(format_lsn(Lsn{0x0A000060ull}) == "0/A000060");
    CHECK(format_lsn(Lsn{0x100000000ull}) == "1/0");
    CHECK(format_lsn(Lsn{0xFFFFFFFFFFFFFFFFull}) == "FFFFFFFF/FFFFFFFF");
    CHECK(format_lsn(parse_lsn("0/0A000060")) == "0/A000060");
    CHECK(format_lsn(parse_lsn("ab/cdef")) == "AB/CDEF");
    for (std::uint64_t v : {0ull, 1ull, 0xFFFFFFFFull, 0x100000000ull, 0x123456789ABCDEFull}) {
        CHECK(parse_lsn(format_lsn(Lsn{v})).value == v);
    }
}

TEST_CASE("LSNs compare by value", "[lsn]") {
    CHECK(parse_lsn("0/FFFFFFFF") < parse_lsn("1/0"));
    CHECK(parse_lsn("16/B374D848") > parse_lsn("16/B374D847"));
    CHECK(Lsn{} == Lsn{0});
}

TEST_CASE("valid segment sizes are the powers of two from 1 MiB to 1 GiB", "[lsn]") {
    for (int shift = 20; shift <= 30; ++shift) {
        std::uint64_t size = std::uint64_t{1} << shift;
        INFO("seg_size: " << size);
        CHECK(valid_segment_size(size));
        CHECK_NOTHROW(check_segment_size(size));
        CHECK(segments_per_xlogid(size) == (std::uint64_t{1} << (32 - shift)));
    }
    const std::vector<std::uint64_t> bad = {
        0,
        1,
        512 * 1024,
        3 * kMiB,
        kMiB + 1,
        kMiB - 1,
        kGiB - 1,
        kGiB + kMiB,
        2 * kGiB,
        std::uint64_t{1} << 32,
        std::uint64_t{1} << 63,
        ~std::uint64_t{0},
        24 * kMiB,
        8192,
    };
    for (std::uint64_t size : bad) {
        INFO("seg_size: " << size);
        CHECK_FALSE(valid_segment_size(size));
        error_message(ErrorCode::kInvalidWalHeader, [&] { check_segment_size(size); });
    }
    CHECK(segments_per_xlogid(kMiB) == 4096);
    CHECK(segments_per_xlogid(16 * kMiB) == 256);
    CHECK(segments_per_xlogid(kGiB) == 4);
}

TEST_CASE("LSN to segment and back for every segment size", "[lsn]") {
    const Lsn lsn = parse_lsn("16/B374D848");
    CHECK(lsn_to_segno(lsn, 16 * kMiB) == 0x16B3);
    CHECK(lsn_segment_offset(lsn, 16 * kMiB) == 0x74D848);
    CHECK(segno_to_lsn(0x16B3, 16 * kMiB) == parse_lsn("16/B3000000"));
    CHECK(lsn_to_segno(lsn, kGiB) == 0x5A);
    CHECK(lsn_segment_offset(lsn, kGiB) == 0x3374D848);
    CHECK(lsn_to_segno(lsn, kMiB) == 0x16B37);
    CHECK(lsn_segment_offset(lsn, kMiB) == 0x4D848);

    const Lsn max{~std::uint64_t{0}};
    for (int shift = 20; shift <= 30; ++shift) {
        const std::uint64_t size = std::uint64_t{1} << shift;
        INFO("seg_size: " << size);
        CHECK(lsn_to_segno(Lsn{0}, size) == 0);
        CHECK(lsn_to_segno(Lsn{size - 1}, size) == 0);
        CHECK(lsn_to_segno(Lsn{size}, size) == 1);
        CHECK(lsn_segment_offset(Lsn{size - 1}, size) == size - 1);
        CHECK(lsn_segment_offset(Lsn{size}, size) == 0);
        CHECK(segno_to_lsn(1, size).value == size);
        CHECK(lsn_to_segno(max, size) == (~std::uint64_t{0} >> shift));
        CHECK(lsn_segment_offset(max, size) == size - 1);
        const std::uint64_t last = lsn_to_segno(max, size);
        CHECK(segno_to_lsn(last, size).value == ~std::uint64_t{0} - (size - 1));
        for (std::uint64_t v : {std::uint64_t{0x16B374D848}, std::uint64_t{0xFFFFFFFF},
                                std::uint64_t{0x123456789ABCDEF0}}) {
            const Lsn at{v};
            const std::uint64_t segno = lsn_to_segno(at, size);
            CHECK(segno_to_lsn(segno, size).value + lsn_segment_offset(at, size) == v);
            CHECK(lsn_segment_offset(at, size) < size);
        }
    }
}
