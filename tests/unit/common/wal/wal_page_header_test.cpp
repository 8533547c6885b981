#include "wal/wal_page_header.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "base/error.h"
#include "expect_error.h"
#include "wal/lsn.h"

using namespace walferry;
using Catch::CaseSensitive;
using Catch::Contains;
using test_errors::error_message;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::uint32_t k16MiB = 16 << 20;

// The fields of XLogLongPageHeaderData, written at their offsets in host byte order.
struct RawHeader {
    std::uint16_t magic = 0xD110;  // PostgreSQL 15
    std::uint16_t info = 0x0002;   // XLP_LONG_HEADER
    std::uint32_t tli = 3;
    std::uint64_t pageaddr = 0xAFF000000;  // first byte of 000000030000000A000000FF
    std::uint32_t rem_len = 0;
    std::uint64_t sysid = 7301234567890123456ull;
    std::uint32_t seg_size = k16MiB;
    std::uint32_t block_size = 8192;

    Bytes bytes(std::size_t size = kWalLongHeaderSize) const {
        Bytes out(std::max(size, kWalLongHeaderSize), 0xA5);  // padding is junk in real files
        auto put = [&](std::size_t at, const auto& v) {
            std::memcpy(out.data() + at, &v, sizeof v);
        };
        put(0, magic);
        put(2, info);
        put(4, tli);
        put(8, pageaddr);
        put(16, rem_len);
        put(24, sysid);
        put(32, seg_size);
        put(36, block_size);
        out.resize(size);
        return out;
    }
};

WalPageHeader parse(const RawHeader& raw) {
    return parse_wal_page_header(raw.bytes());
}

// The header must be refused with kInvalidWalHeader, the message mentioning one of `words`.
void check_refused(const RawHeader& raw, std::initializer_list<const char*> words) {
    std::string msg = error_message(ErrorCode::kInvalidWalHeader, [&] { parse(raw); });
    INFO("message: " << msg);
    bool named = false;
    for (const char* word : words) {
        named = named || Contains(word, CaseSensitive::No).match(msg);
    }
    CHECK(named);
}

void check_mismatch(const WalPageHeader& header, const std::string& name) {
    INFO("name: " << name);
    error_message(ErrorCode::kInvalidWalHeader,
                  [&] { check_header_matches_name(header, parse_wal_name(name)); });
}

}  // namespace

TEST_CASE("each known page magic maps to its PostgreSQL major", "[wal_page_header]") {
    const std::pair<std::uint16_t, int> known[] = {
        {0xD101, 12}, {0xD106, 13}, {0xD10D, 14}, {0xD110, 15}, {0xD113, 16},
        {0xD116, 17}, {0xD118, 18}, {0xD120, 19}, {0xD121, 19},
    };
    for (auto [magic, major] : known) {
        INFO("magic: " << magic);
        CHECK(pg_major_for_magic(magic) == major);
        RawHeader raw;
        raw.magic = magic;
        WalPageHeader h = parse(raw);
        CHECK(h.magic == magic);
        CHECK(h.pg_major == major);
    }
    const std::uint16_t unknown[] = {0x0000, 0xD100, 0xD102, 0xD105, 0xD117,
                                     0xD119, 0xD11F, 0x10D1, 0xD200, 0xFFFF};
    for (std::uint16_t magic : unknown) {
        INFO("magic: " << magic);
        CHECK(pg_major_for_magic(magic) == 0);
        RawHeader raw;
        raw.magic = magic;
        check_refused(raw, {"magic"});
    }
}

TEST_CASE("a magic newer than the table with an otherwise valid header is accepted unverified",
          "[wal_page_header]") {
    CHECK(kNewestKnownWalMagic == 0xD121);
    CHECK(kNewestKnownPgMajor == 19);
    for (std::uint16_t magic :
         std::initializer_list<std::uint16_t>{0xD122, 0xD125, 0xD130, 0xD1FF}) {
        INFO("magic: " << magic);
        CHECK(is_unverified_wal_magic(magic));
        RawHeader raw;
        raw.magic = magic;
        const WalPageHeader h = parse(raw);
        CHECK(h.magic == magic);
        CHECK(h.pg_major == 0);
        CHECK_FALSE(h.verified());
        CHECK(h.sysid == raw.sysid);
        CHECK_NOTHROW(check_header_matches_name(h, parse_wal_name("000000030000000A000000FF")));
        check_mismatch(h, "000000030000000A000000FE");
        // every other field is checked as for a known magic
        RawHeader bad = raw;
        bad.info = 0;
        check_refused(bad, {"long"});
        bad = raw;
        bad.tli = 0;
        check_refused(bad, {"timeline"});
        bad = raw;
        bad.sysid = 0;
        check_refused(bad, {"system"});
        bad = raw;
        bad.seg_size = 3u << 20;
        check_refused(bad, {"segment size"});
        bad = raw;
        bad.block_size = 1000;
        check_refused(bad, {"block"});
        bad = raw;
        bad.pageaddr += 8192;
        check_refused(bad, {"page address"});
    }
    // Known magics are verified, not "unverified"; nothing below the newest known or outside
    // 0xD1xx has the form of a newer one.
    for (std::uint16_t magic : std::initializer_list<std::uint16_t>{
             0xD101, 0xD118, 0xD120, 0xD121, 0xD11F, 0xD119, 0xD200, 0xD0FF, 0x21D1, 0xFFFF}) {
        INFO("magic: " << magic);
        CHECK_FALSE(is_unverified_wal_magic(magic));
    }
    RawHeader raw;
    raw.magic = 0xD200;
    CHECK_THAT(error_message(ErrorCode::kInvalidWalHeader, [&] { parse(raw); }),
               Contains("magic 0xD200 is not that of PostgreSQL 12 to 19") &&
                   Contains("0xD122 to 0xD1FF"));
}

TEST_CASE("a header of each verified version is read with its major", "[wal_page_header]") {
    const std::pair<std::uint16_t, int> versions[] = {
        {0xD101, 12}, {0xD106, 13}, {0xD10D, 14}, {0xD110, 15}, {0xD113, 16},
        {0xD116, 17}, {0xD118, 18}, {0xD120, 19}, {0xD121, 19},
    };
    for (auto [magic, major] : versions) {
        INFO("magic: " << magic);
        for (std::uint32_t seg_size : {1u << 20, 16u << 20, 1u << 30}) {
            RawHeader raw;
            raw.magic = magic;
            raw.seg_size = seg_size;
            raw.pageaddr = std::uint64_t{seg_size} * 7;
            const WalPageHeader h = parse(raw);
            CHECK(h.pg_major == major);
            CHECK(h.verified());
            CHECK_NOTHROW(check_header_matches_name(h, segment_name(3, 7, seg_size)));
        }
    }
}

TEST_CASE("a valid first page header is read field by field", "[wal_page_header]") {
    RawHeader raw;
    raw.rem_len = 0xDEADBEEF;  // not checked
    WalPageHeader h = parse(raw);
    CHECK(h.magic == 0xD110);
    CHECK(h.info == 0x0002);
    CHECK(h.tli == 3);
    CHECK(h.pageaddr == 0xAFF000000ull);
    CHECK(h.sysid == 7301234567890123456ull);
    CHECK(h.seg_size == k16MiB);
    CHECK(h.block_size == 8192);
    CHECK(h.pg_major == 15);

    // Other info bits may be set beside the long-header flag; a whole page parses too.
    raw.info = 0x0007;
    CHECK(parse(raw).info == 0x0007);
    CHECK(parse_wal_page_header(raw.bytes(8192)).info == 0x0007);
}

TEST_CASE("every valid segment and block size is accepted", "[wal_page_header]") {
    for (int shift = 20; shift <= 30; ++shift) {
        RawHeader raw;
        raw.seg_size = std::uint32_t{1} << shift;
        raw.pageaddr = std::uint64_t{raw.seg_size} * 5;
        INFO("seg_size: " << raw.seg_size);
        CHECK(parse(raw).seg_size == raw.seg_size);
    }
    for (int shift = 10; shift <= 16; ++shift) {
        RawHeader raw;
        raw.block_size = std::uint32_t{1} << shift;
        INFO("block_size: " << raw.block_size);
        CHECK(parse(raw).block_size == raw.block_size);
    }
}

TEST_CASE("headers that no first page can have are refused, naming the field",
          "[wal_page_header]") {
    RawHeader raw;
    raw.info = 0x0000;
    check_refused(raw, {"long", "info", "flag"});
    raw.info = 0x0001;  // continuation flag alone
    check_refused(raw, {"long", "info", "flag"});
    raw.info = 0x0005;
    check_refused(raw, {"long", "info", "flag"});

    raw = {};
    raw.tli = 0;
    check_refused(raw, {"timeline", "tli"});

    raw = {};
    raw.sysid = 0;
    check_refused(raw, {"system", "sysid"});

    for (std::uint32_t bad :
         {0u, 1u, 512u * 1024, 3u << 20, (1u << 20) + 1, 24u << 20, 1u << 31, 0xFFFFFFFFu}) {
        INFO("seg_size: " << bad);
        raw = {};
        raw.seg_size = bad;
        raw.pageaddr = 0;
        check_refused(raw, {"segment", "seg_size", "seg size"});
    }

    for (std::uint32_t bad : {0u, 512u, 1000u, 8000u, 8193u, 131072u, 0xFFFFFFFFu}) {
        INFO("block_size: " << bad);
        raw = {};
        raw.block_size = bad;
        check_refused(raw, {"block"});
    }

    for (std::uint64_t bad : {std::uint64_t{0xAFF000000} + 8192, std::uint64_t{1},
                              std::uint64_t{k16MiB} / 2, ~std::uint64_t{0}}) {
        INFO("pageaddr: " << bad);
        raw = {};
        raw.pageaddr = bad;
        check_refused(raw, {"pageaddr", "page address", "address"});
    }
}

TEST_CASE("fewer than 40 bytes is a truncated header", "[wal_page_header]") {
    const Bytes full = RawHeader{}.bytes();
    for (std::size_t len = 0; len < kWalLongHeaderSize; ++len) {
        INFO("length: " << len);
        error_message(ErrorCode::kInvalidWalHeader, [&] {
            parse_wal_page_header(std::span<const std::uint8_t>(full.data(), len));
        });
    }
    CHECK_NOTHROW(parse_wal_page_header(full));
}

TEST_CASE("the header must belong to the named segment", "[wal_page_header]") {
    const WalPageHeader h = parse(RawHeader{});
    CHECK_NOTHROW(check_header_matches_name(h, parse_wal_name("000000030000000A000000FF")));
    CHECK_NOTHROW(check_header_matches_name(h, parse_wal_name("000000030000000A000000FF.partial")));
    CHECK_NOTHROW(check_header_matches_name(h, parse_wal_name("000000030000000A000000FF.zst")));

    // Neighbouring segments and other log ids.
    check_mismatch(h, "000000030000000A000000FE");
    check_mismatch(h, "000000030000000B00000000");
    check_mismatch(h, "000000030000000B000000FF");
    check_mismatch(h, "000000030000000000000000");
}

TEST_CASE("the header timeline may be lower than the name's but not higher", "[wal_page_header]") {
    const WalPageHeader h = parse(RawHeader{});  // tli 3
    // The first segment of timeline 4 starts with a page written on timeline 3.
    CHECK_NOTHROW(check_header_matches_name(h, parse_wal_name("000000040000000A000000FF")));
    CHECK_NOTHROW(check_header_matches_name(h, parse_wal_name("FFFFFFFF0000000A000000FF")));
    const std::string msg = error_message(ErrorCode::kInvalidWalHeader, [&] {
        check_header_matches_name(h, parse_wal_name("000000020000000A000000FF"));
    });
    CHECK_THAT(msg, Contains("3") && Contains("2"));
    check_mismatch(h, "000000010000000A000000FF");
}

TEST_CASE("header and name agree at every segment size", "[wal_page_header]") {
    for (int shift = 20; shift <= 30; ++shift) {
        const std::uint64_t size = std::uint64_t{1} << shift;
        const std::uint64_t per_log = (std::uint64_t{1} << 32) / size;
        INFO("seg_size: " << size);
        for (std::uint64_t segno : {std::uint64_t{0}, per_log - 1, per_log, 1000 * per_log + 1,
                                    (~std::uint64_t{0}) / size}) {
            INFO("segno: " << segno);
            RawHeader raw;
            raw.tli = 0xFFFFFFFF;
            raw.seg_size = static_cast<std::uint32_t>(size);
            raw.pageaddr = segno_to_lsn(segno, size).value;
            const WalPageHeader h = parse(raw);
            const WalName name = segment_name(0xFFFFFFFF, segno, size);
            CHECK_NOTHROW(check_header_matches_name(h, name));
            if (segno > 0) check_mismatch(h, previous_segment(name, size).wal_file_name());
        }
    }
}

TEST_CASE("a name with no such segment at the header's size is a header mismatch",
          "[wal_page_header]") {
    // 1 GiB segments: a log has segments 0..3, so "...000000FF" names nothing the header can match.
    RawHeader raw;
    raw.seg_size = 1u << 30;
    raw.pageaddr = 0;
    const WalPageHeader h = parse(raw);
    check_mismatch(h, "0000000300000000000000FF");
    check_mismatch(h, "000000030000000000000004");
}
