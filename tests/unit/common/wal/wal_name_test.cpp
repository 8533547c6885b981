#include "wal/wal_name.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "expect_error.h"

using namespace walferry;
using Catch::CaseSensitive;
using Catch::Contains;
using test_errors::error_message;

namespace {

// Every wal_segment_size PostgreSQL accepts: 1 MiB .. 1 GiB, powers of two.
std::vector<std::uint64_t> all_segment_sizes() {
    std::vector<std::uint64_t> sizes;
    for (int shift = 20; shift <= 30; ++shift) sizes.push_back(std::uint64_t{1} << shift);
    return sizes;
}

std::string hex8(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%08llX", static_cast<unsigned long long>(v));
    return buf;
}

std::string segment_text(std::uint32_t tli, std::uint64_t log, std::uint64_t seg) {
    return hex8(tli) + hex8(log) + hex8(seg);
}

WalName name_of(WalKind kind, std::uint32_t tli, std::uint32_t log, std::uint32_t seg,
                std::uint32_t offset = 0, bool compressed = false) {
    WalName n;
    n.kind = kind;
    n.tli = tli;
    n.log = log;
    n.seg = seg;
    n.offset = offset;
    n.compressed = compressed;
    return n;
}

WalName make_segment(std::uint32_t tli, std::uint32_t log, std::uint32_t seg) {
    return name_of(WalKind::kSegment, tli, log, seg);
}

// parse_wal_name must refuse `name` with kInvalidName and a printable message that shows it.
void check_rejected(const std::string& name) {
    INFO("name: " << quote_name(name));
    std::string msg = error_message(ErrorCode::kInvalidName, [&] { parse_wal_name(name); });
    CHECK(test_errors::printable(msg));
    // Long names may be cut in messages; the start of the name must be there.
    std::string shown = name.size() <= kMaxWalNameLength ? name : name.substr(0, 24);
    CHECK_THAT(msg, Contains(quote_name(shown)));
    // More than the name alone: the message says what is wrong.
    CHECK(msg.size() >= quote_name(shown).size() + 10);
    WalName out;
    CHECK_FALSE(try_parse_wal_name(name, out));
}

}  // namespace

TEST_CASE("every name kind parses into its fields, with and without .zst", "[wal_name]") {
    struct Case {
        std::string text;
        WalName expected;
        bool has_wal_pages;
    };
    const Case cases[] = {
        {"000000010000000A000000FF", name_of(WalKind::kSegment, 1, 0xA, 0xFF), true},
        {"FFFFFFFFFFFFFFFFFFFFFFFF", name_of(WalKind::kSegment, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
         true},
        {"000000030000000A000000FF.zst", name_of(WalKind::kSegment, 3, 0xA, 0xFF, 0, true), true},
        {"000000010000000A000000FF.partial", name_of(WalKind::kPartial, 1, 0xA, 0xFF), true},
        {"000000010000000A000000FF.partial.zst", name_of(WalKind::kPartial, 1, 0xA, 0xFF, 0, true),
         true},
        {"0000000A.history", name_of(WalKind::kHistory, 10, 0, 0), false},
        {"FFFFFFFF.history.zst", name_of(WalKind::kHistory, 0xFFFFFFFF, 0, 0, 0, true), false},
        {"000000010000000A000000FF.00000028.backup",
         name_of(WalKind::kBackupHistory, 1, 0xA, 0xFF, 0x28), false},
        {"000000020000000000000003.00FFFFF8.backup.zst",
         name_of(WalKind::kBackupHistory, 2, 0, 3, 0x00FFFFF8, true), false},
    };
    for (const Case& c : cases) {
        INFO("name: " << c.text);
        WalName parsed = parse_wal_name(c.text);
        CHECK(parsed == c.expected);
        CHECK(parsed.has_wal_pages() == c.has_wal_pages);
        WalName out;
        REQUIRE(try_parse_wal_name(c.text, out));
        CHECK(out == c.expected);
    }
    CHECK(parse_wal_name("0000000A.history") == history_name(10));
}

TEST_CASE("every accepted name formats back to itself", "[wal_name]") {
    const std::vector<std::string> names = {
        "000000010000000000000000",
        "000000010000000A000000FF",
        "FFFFFFFFFFFFFFFFFFFFFFFF",
        "0000000100000016000000B3.partial",
        "00000002.history",
        "ABCDEF01.history",
        "000000010000000A000000FF.00000028.backup",
        "000000010000000000000002.00000000.backup",
    };
    for (const std::string& raw : names) {
        INFO("name: " << raw);
        WalName plain = parse_wal_name(raw);
        CHECK_FALSE(plain.compressed);
        CHECK(plain.wal_file_name() == raw);
        CHECK(plain.archive_file_name() == raw + ".zst");

        WalName zst = parse_wal_name(raw + ".zst");
        CHECK(zst.compressed);
        CHECK(zst.wal_file_name() == raw);  // PostgreSQL's name never has ".zst"
        CHECK(zst.archive_file_name() == raw + ".zst");
        zst.compressed = false;
        CHECK(zst == plain);

        WalName out;
        REQUIRE(try_parse_wal_name(raw + ".zst", out));
        CHECK(out == parse_wal_name(raw + ".zst"));
    }
}

TEST_CASE("hostile and malformed names are rejected with a clear error", "[wal_name]") {
    const std::string valid = "000000010000000000000001";
    std::string embedded_nul = valid;
    embedded_nul[12] = '\0';
    const std::vector<std::string> hostile = {
        "",
        ".",
        "..",
        "../" + valid,
        "pg_wal/" + valid,
        valid + "/",
        "/" + valid,
        "..\\" + valid,
        "a\\" + valid,
        "0000000100000000000000ab",  // lower-case hex
        "000000010000000a00000001",
        "0000000a.history",
        "000000010000000000000001.0000002a.backup",
        "00000001000000000000001",    // 23 hex digits
        "0000000100000000000000011",  // 25 hex digits
        "0000001.history",
        "000000001.history",
        "000000010000000000000001.0000028.backup",
        std::string("000000010000000000000001\0", 25),  // trailing NUL
        embedded_nul,
        std::string("\0", 1),
        valid + std::string(41, 'A'),  // 65 characters
        std::string(65, '0'),
        std::string(1000, 'A'),
        "0000000100000000000000010000000100000000000000010000000100000000",  // 64 hex digits
        "000000000000000000000001",                                          // timeline 0
        "000000000000000000000001.zst",
        "00000000.history",
        "000000000000000000000001.partial",
        "000000000000000000000001.00000028.backup",
        valid + ".gz",
        valid + ".ZST",
        valid + ".zst.zst",
        valid + ".Partial",
        valid + ".history",
        valid + ".backup",
        valid + ".00000028.backup.partial",
        valid + ".partial.tmp",
        valid + ".tmp",
        valid + ".",
        "00000001.partial",
        "00000001.backup",
        "00000001.HISTORY",
        "00000001.history.tmp",
        ".zst",
        "." + valid,
        " " + valid,
        valid + " ",
        "00000001 0000000000000001",
        "\t" + valid,
        valid + "\n",
        valid + "\r",
        valid + "~",
        valid + "\xff",
        "00000001000000000000000G",
        "0x000001.history",
        "-0000001.history",
        "RECOVERYXLOG",
        "RECOVERYHISTORY",
        "archive_status",
    };
    REQUIRE(hostile.size() >= 20);
    for (const std::string& name : hostile) check_rejected(name);
}

TEST_CASE("rejection messages say what is wrong", "[wal_name]") {
    std::string tli0 =
        error_message(ErrorCode::kInvalidName, [] { parse_wal_name("000000000000000000000001"); });
    CHECK_THAT(tli0, Contains("timeline", CaseSensitive::No));
    std::string tli0_history =
        error_message(ErrorCode::kInvalidName, [] { parse_wal_name("00000000.history"); });
    CHECK_THAT(tli0_history, Contains("timeline", CaseSensitive::No));

    std::string too_long =
        error_message(ErrorCode::kInvalidName, [] { parse_wal_name(std::string(65, '0')); });
    CHECK_THAT(too_long, Contains("64") || Contains("long", CaseSensitive::No));

    // A NUL byte is shown escaped, never raw (it would cut the message short in C APIs).
    std::string nul = error_message(ErrorCode::kInvalidName,
                                    [] { parse_wal_name(std::string("00000001\0.history", 17)); });
    CHECK_THAT(nul, Contains("\\x00"));
    CHECK(nul.find('\0') == std::string::npos);
}

TEST_CASE("quote_name escapes everything but printable ASCII", "[wal_name]") {
    CHECK_THAT(quote_name("000000010000000000000001"), Contains("000000010000000000000001"));
    std::string q = quote_name(std::string("a\0b\n\xff", 5));
    CHECK_THAT(q, Contains("\\x00"));
    CHECK_THAT(q, Contains("\\x0a") || Contains("\\x0A"));
    CHECK_THAT(q, Contains("\\xff") || Contains("\\xFF"));
    CHECK(test_errors::printable(q));
}

TEST_CASE("segment numbers, names and neighbours for every segment size", "[wal_name]") {
    for (std::uint64_t size : all_segment_sizes()) {
        INFO("seg_size: " << size);
        const std::uint64_t per_log = (std::uint64_t{1} << 32) / size;
        const std::uint32_t last_seg = static_cast<std::uint32_t>(per_log - 1);

        CHECK(segment_name(1, 0, size) == make_segment(1, 0, 0));
        CHECK(segment_name(1, 0, size).wal_file_name() == "000000010000000000000000");
        CHECK(parse_wal_name("000000010000000000000000").segno(size) == 0);

        // Last segment of log 0 and first of log 1.
        WalName last = segment_name(1, per_log - 1, size);
        CHECK(last == make_segment(1, 0, last_seg));
        CHECK(last.wal_file_name() == segment_text(1, 0, last_seg));
        CHECK(last.segno(size) == per_log - 1);
        WalName first_of_1 = next_segment(last, size);
        CHECK(first_of_1 == make_segment(1, 1, 0));
        CHECK(first_of_1.segno(size) == per_log);
        CHECK(previous_segment(first_of_1, size) == last);

        // A seg part at or beyond 2^32/seg_size names no segment at this size.
        WalName beyond = parse_wal_name(segment_text(1, 0, per_log));
        error_message(ErrorCode::kInvalidName, [&] { beyond.segno(size); });
        CHECK_THROWS_AS(next_segment(beyond, size), Error);
        CHECK_THROWS_AS(previous_segment(beyond, size), Error);
        WalName all_f = parse_wal_name(segment_text(1, 0, 0xFFFFFFFF));
        error_message(ErrorCode::kInvalidName, [&] { all_f.segno(size); });

        // The very last segment: no next one. Highest timeline works like any other.
        const std::uint64_t max_segno = (std::uint64_t{0xFFFFFFFF} << 32 | 0xFFFFFFFF) / size;
        WalName top = segment_name(0xFFFFFFFF, max_segno, size);
        CHECK(top == make_segment(0xFFFFFFFF, 0xFFFFFFFF, last_seg));
        CHECK(top.segno(size) == max_segno);
        error_message(ErrorCode::kInvalidName, [&] { next_segment(top, size); });
        CHECK(previous_segment(top, size) == segment_name(0xFFFFFFFF, max_segno - 1, size));
        CHECK(next_segment(previous_segment(top, size), size) == top);

        // Nothing before segment 0.
        error_message(ErrorCode::kInvalidName,
                      [&] { previous_segment(segment_name(1, 0, size), size); });
        error_message(ErrorCode::kInvalidName,
                      [&] { previous_segment(segment_name(0xFFFFFFFF, 0, size), size); });

        // Round trips over a spread of segment numbers.
        for (std::uint64_t segno : {std::uint64_t{1}, per_log + 1, 3 * per_log + per_log / 2,
                                    std::uint64_t{0x123456789} % (max_segno + 1), max_segno}) {
            INFO("segno: " << segno);
            WalName n = segment_name(7, segno, size);
            CHECK(n.kind == WalKind::kSegment);
            CHECK(n.wal_file_name() == segment_text(7, segno / per_log, segno % per_log));
            CHECK(parse_wal_name(n.wal_file_name()) == n);
            CHECK(n.segno(size) == segno);
        }
    }
}

TEST_CASE("known segment names at 16 MiB and 1 GiB", "[wal_name]") {
    constexpr std::uint64_t k16MiB = 16 << 20;
    constexpr std::uint64_t k1GiB = 1 << 30;
    CHECK(parse_wal_name("0000000100000016000000B3").segno(k16MiB) == 0x16B3);
    CHECK(segment_name(1, 0x16B3, k16MiB).wal_file_name() == "0000000100000016000000B3");
    CHECK(next_segment(parse_wal_name("0000000100000000000000FF"), k16MiB).wal_file_name() ==
          "000000010000000100000000");
    CHECK(next_segment(parse_wal_name("000000010000000000000003"), k1GiB).wal_file_name() ==
          "000000010000000100000000");
    CHECK(previous_segment(parse_wal_name("000000010000000100000000"), k1GiB).wal_file_name() ==
          "000000010000000000000003");
    CHECK_THROWS_AS(parse_wal_name("000000010000000000000004").segno(k1GiB), Error);
    CHECK(parse_wal_name("000000010000000000000FFF").segno(1 << 20) == 0xFFF);
    CHECK_THROWS_AS(parse_wal_name("000000010000000000001000").segno(1 << 20), Error);
}

TEST_CASE("neighbours of partial and compressed names are plain segments", "[wal_name]") {
    constexpr std::uint64_t k16MiB = 16 << 20;
    WalName partial = parse_wal_name("000000020000000A000000FF.partial.zst");
    WalName next = next_segment(partial, k16MiB);
    CHECK(next.kind == WalKind::kSegment);
    CHECK(next.compressed);
    CHECK(next.tli == 2);
    CHECK(next.log == 0xB);
    CHECK(next.seg == 0);
    CHECK(next.archive_file_name() == "000000020000000B00000000.zst");

    WalName prev = previous_segment(parse_wal_name("000000020000000A000000FF.partial"), k16MiB);
    CHECK(prev.kind == WalKind::kSegment);
    CHECK_FALSE(prev.compressed);
    CHECK(prev.wal_file_name() == "000000020000000A000000FE");
}

TEST_CASE("history names", "[wal_name]") {
    CHECK(history_name(1).wal_file_name() == "00000001.history");
    CHECK(history_name(0x1F).wal_file_name() == "0000001F.history");
    CHECK(history_name(0xFFFFFFFF).archive_file_name() == "FFFFFFFF.history.zst");
    CHECK(history_name(2).kind == WalKind::kHistory);
    CHECK_FALSE(history_name(2).compressed);
}

TEST_CASE("try_parse_wal_name reports success without throwing", "[wal_name]") {
    WalName out;
    CHECK(try_parse_wal_name("000000030000000A000000FF.partial", out));
    CHECK(out.kind == WalKind::kPartial);
    CHECK(out.tli == 3);
    CHECK_FALSE(try_parse_wal_name("000000030000000a000000ff", out));
    CHECK_FALSE(try_parse_wal_name(std::string_view("00000003.hist\0ry", 16), out));
    CHECK_FALSE(try_parse_wal_name("", out));
}
