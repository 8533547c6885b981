// Fuzzes parse_wal_page_header: an accepted header holds exactly the bytes at the documented
// offsets (host byte order) and passes every documented check (a magic of the table, or a newer
// one of the form 0xD122 .. 0xD1FF, unverified). Bytes after the first 40 pick a
// file name (timeline, and a segment near the header's pageaddr) for check_header_matches_name,
// whose rule is fully documented and so checked both ways.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "base/error.h"
#include "fuzz_check.h"
#include "wal/lsn.h"
#include "wal/wal_name.h"
#include "wal/wal_page_header.h"

namespace walferry::fuzz {
namespace {

template <typename T>
T read_at(const std::uint8_t* data, std::size_t offset) {
    T value;
    std::memcpy(&value, data + offset, sizeof value);
    return value;
}

int reference_major(std::uint16_t magic) {
    switch (magic) {
        case 0xD101:
            return 12;
        case 0xD106:
            return 13;
        case 0xD10D:
            return 14;
        case 0xD110:
            return 15;
        case 0xD113:
            return 16;
        case 0xD116:
            return 17;
        case 0xD118:
            return 18;
        case 0xD120:  // 19's betas
        case 0xD121:
            return 19;
        default:
            return 0;
    }
}

bool power_of_two(std::uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

void check_accepted(const WalPageHeader& h, const std::uint8_t* data) {
    WALFERRY_FUZZ_CHECK(h.magic == read_at<std::uint16_t>(data, 0));
    WALFERRY_FUZZ_CHECK(h.info == read_at<std::uint16_t>(data, 2));
    WALFERRY_FUZZ_CHECK(h.tli == read_at<std::uint32_t>(data, 4));
    WALFERRY_FUZZ_CHECK(h.pageaddr == read_at<std::uint64_t>(data, 8));
    WALFERRY_FUZZ_CHECK(h.sysid == read_at<std::uint64_t>(data, 24));
    WALFERRY_FUZZ_CHECK(h.seg_size == read_at<std::uint32_t>(data, 32));
    WALFERRY_FUZZ_CHECK(h.block_size == read_at<std::uint32_t>(data, 36));

    WALFERRY_FUZZ_CHECK(h.pg_major == reference_major(h.magic));
    // Not in the table: only a newer magic of the same form, accepted unverified.
    WALFERRY_FUZZ_CHECK(h.pg_major != 0 || (h.magic > 0xD121 && h.magic <= 0xD1FF));
    WALFERRY_FUZZ_CHECK(h.verified() == (h.pg_major != 0));
    WALFERRY_FUZZ_CHECK((h.info & 0x0002) != 0);
    WALFERRY_FUZZ_CHECK(h.tli != 0);
    WALFERRY_FUZZ_CHECK(h.sysid != 0);
    WALFERRY_FUZZ_CHECK(valid_segment_size(h.seg_size));
    WALFERRY_FUZZ_CHECK(power_of_two(h.block_size) && h.block_size >= 1024 &&
                        h.block_size <= 65536);
    WALFERRY_FUZZ_CHECK(h.pageaddr % h.seg_size == 0);
}

void check_against_name(const WalPageHeader& h, const std::uint8_t* extra, std::size_t size) {
    if (size < 6) return;
    std::uint32_t name_tli = read_at<std::uint32_t>(extra, 0);
    if (extra[5] & 1) {  // near the header's timeline: the edge cases
        name_tli = h.tli + static_cast<std::uint32_t>((extra[5] >> 1) % 3) - 1u;
    }
    if (name_tli == 0) return;
    std::uint64_t segno = h.pageaddr / h.seg_size;
    int delta = extra[4] % 3 - 1;
    if ((delta < 0 && segno == 0) || (delta > 0 && segno + 1 == 0)) return;
    segno += static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
    if (segno / segments_per_xlogid(h.seg_size) > 0xFFFFFFFFu) return;  // no name for it
    WalName name = segment_name(name_tli, segno, h.seg_size);
    if (extra[4] & 0x80) name.kind = WalKind::kPartial;

    bool expected = name.segno(h.seg_size) * h.seg_size == h.pageaddr && h.tli <= name.tli;
    try {
        check_header_matches_name(h, name);
        WALFERRY_FUZZ_CHECK(expected);
    } catch (const Error& e) {
        check_rejection(e, ErrorCode::kInvalidWalHeader);
        WALFERRY_FUZZ_CHECK(!expected);
    }
}

}  // namespace

void test_one_input(std::span<const std::uint8_t> data) {
    if (data.size() >= 2) {
        auto magic = read_at<std::uint16_t>(data.data(), 0);
        WALFERRY_FUZZ_CHECK(pg_major_for_magic(magic) == reference_major(magic));
        WALFERRY_FUZZ_CHECK(is_unverified_wal_magic(magic) ==
                            (reference_major(magic) == 0 && magic > 0xD121 && magic <= 0xD1FF));
    }

    auto header =
        accepted(ErrorCode::kInvalidWalHeader, [&] { return parse_wal_page_header(data); });
    if (!header) return;
    WALFERRY_FUZZ_CHECK(data.size() >= kWalLongHeaderSize);
    check_accepted(*header, data.data());
    check_against_name(*header, data.data() + kWalLongHeaderSize, data.size() - kWalLongHeaderSize);
}

}  // namespace walferry::fuzz
