#include "wal/lsn.h"

#include <cstdio>

#include "base/error.h"
#include "base/escape.h"

namespace walferry {

namespace {

constexpr std::uint64_t kMinSegmentSize = 1ull << 20;
constexpr std::uint64_t kMaxSegmentSize = 1ull << 30;

// 1..8 hex digits, either case, nothing else.
bool parse_hex_half(std::string_view text, std::uint32_t& out) {
    if (text.empty() || text.size() > 8) return false;
    std::uint32_t v = 0;
    for (char c : text) {
        std::uint32_t digit;
        if (c >= '0' && c <= '9')
            digit = static_cast<std::uint32_t>(c - '0');
        else if (c >= 'A' && c <= 'F')
            digit = static_cast<std::uint32_t>(c - 'A' + 10);
        else if (c >= 'a' && c <= 'f')
            digit = static_cast<std::uint32_t>(c - 'a' + 10);
        else
            return false;
        v = v * 16 + digit;
    }
    out = v;
    return true;
}

}  // namespace

Lsn parse_lsn(std::string_view text) {
    std::size_t slash = text.find('/');
    std::uint32_t hi = 0;
    std::uint32_t lo = 0;
    if (slash == std::string_view::npos || !parse_hex_half(text.substr(0, slash), hi) ||
        !parse_hex_half(text.substr(slash + 1), lo)) {
        throw Error(ErrorCode::kInvalidLsn, "invalid LSN \"" + escape_bytes(text, 80) +
                                                "\": expected two groups of 1 to 8 hex digits "
                                                "separated by '/', like 16/B374D848");
    }
    return Lsn{(std::uint64_t{hi} << 32) | lo};
}

std::string format_lsn(Lsn lsn) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn.value >> 32),
                  static_cast<unsigned>(lsn.value & 0xFFFFFFFFu));
    return buf;
}

bool valid_segment_size(std::uint64_t seg_size) noexcept {
    return seg_size >= kMinSegmentSize && seg_size <= kMaxSegmentSize &&
           (seg_size & (seg_size - 1)) == 0;
}

void check_segment_size(std::uint64_t seg_size) {
    if (!valid_segment_size(seg_size)) {
        throw Error(ErrorCode::kInvalidWalHeader,
                    "invalid wal_segment_size " + std::to_string(seg_size) +
                        ": must be a power of two between 1 MiB and 1 GiB");
    }
}

std::uint64_t segments_per_xlogid(std::uint64_t seg_size) {
    check_segment_size(seg_size);
    return 0x100000000ull / seg_size;
}

std::uint64_t lsn_to_segno(Lsn lsn, std::uint64_t seg_size) {
    check_segment_size(seg_size);
    return lsn.value / seg_size;
}

Lsn segno_to_lsn(std::uint64_t segno, std::uint64_t seg_size) {
    check_segment_size(seg_size);
    return Lsn{segno * seg_size};
}

std::uint64_t lsn_segment_offset(Lsn lsn, std::uint64_t seg_size) {
    check_segment_size(seg_size);
    return lsn.value & (seg_size - 1);
}

}  // namespace walferry
