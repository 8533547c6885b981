// Fuzzes parse_lsn against an independent reading of "%X/%X" (each half 1..8 hex digits, either
// case), checks parse(format(parse(x))) == parse(x) and that format is PostgreSQL's unpadded
// upper-case form; the first bytes, read as numbers, exercise the LSN <-> segment mapping.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "fuzz_check.h"
#include "wal/lsn.h"

namespace walferry::fuzz {
namespace {

std::optional<Lsn> reference_parse(std::string_view s) {
    auto slash = s.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto high = parse_hex(s.substr(0, slash), true);
    auto low = parse_hex(s.substr(slash + 1), true);
    if (!high || !low) return std::nullopt;
    return Lsn{std::uint64_t{*high} << 32 | *low};
}

// PostgreSQL's "%X/%X": upper-case hex, no leading zeros except a lone "0".
bool canonical_half(std::string_view s) {
    if (s.empty() || s.size() > 8 || (s.size() > 1 && s[0] == '0')) return false;
    for (char c : s) {
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
    }
    return true;
}

void check_format(Lsn lsn) {
    std::string text = format_lsn(lsn);
    auto slash = text.find('/');
    WALFERRY_FUZZ_CHECK(slash != std::string::npos);
    WALFERRY_FUZZ_CHECK(canonical_half(std::string_view(text).substr(0, slash)));
    WALFERRY_FUZZ_CHECK(canonical_half(std::string_view(text).substr(slash + 1)));
    WALFERRY_FUZZ_CHECK(parse_lsn(text) == lsn);
    WALFERRY_FUZZ_CHECK(format_lsn(parse_lsn(text)) == text);
}

void check_segments(Lsn lsn, std::uint64_t seg_size) {
    WALFERRY_FUZZ_CHECK(valid_segment_size(seg_size));
    check_segment_size(seg_size);  // must not throw
    WALFERRY_FUZZ_CHECK(segments_per_xlogid(seg_size) == (std::uint64_t{1} << 32) / seg_size);
    std::uint64_t segno = lsn_to_segno(lsn, seg_size);
    std::uint64_t offset = lsn_segment_offset(lsn, seg_size);
    WALFERRY_FUZZ_CHECK(segno == lsn.value / seg_size);
    WALFERRY_FUZZ_CHECK(offset < seg_size);
    Lsn start = segno_to_lsn(segno, seg_size);
    WALFERRY_FUZZ_CHECK(start.value == segno * seg_size);
    WALFERRY_FUZZ_CHECK(start.value + offset == lsn.value);
    WALFERRY_FUZZ_CHECK(lsn_to_segno(start, seg_size) == segno);
}

void check_segment_size_rule(std::uint64_t seg_size) {
    bool expected =
        seg_size >= (1 << 20) && seg_size <= (1 << 30) && (seg_size & (seg_size - 1)) == 0;
    WALFERRY_FUZZ_CHECK(valid_segment_size(seg_size) == expected);
    try {
        check_segment_size(seg_size);
        WALFERRY_FUZZ_CHECK(expected);
    } catch (const Error& e) {
        WALFERRY_FUZZ_CHECK(!expected);
        check_rejection(e, ErrorCode::kInvalidWalHeader);
    }
}

}  // namespace

void test_one_input(std::span<const std::uint8_t> data) {
    auto parsed = accepted(ErrorCode::kInvalidLsn, [&] { return parse_lsn(as_text(data)); });
    std::optional<Lsn> expected = reference_parse(as_text(data));
    WALFERRY_FUZZ_CHECK(parsed.has_value() == expected.has_value());
    if (parsed) {
        WALFERRY_FUZZ_CHECK(*parsed == *expected);
        check_format(*parsed);
        check_segments(*parsed, std::uint64_t{1} << 24);
    }

    if (data.size() >= 9) {
        Lsn lsn;
        std::memcpy(&lsn.value, data.data(), sizeof lsn.value);
        check_format(lsn);
        check_segments(lsn, std::uint64_t{1} << (20 + data[8] % 11));
    }
    if (data.size() >= 8) {
        std::uint64_t seg_size;
        std::memcpy(&seg_size, data.data() + data.size() - 8, sizeof seg_size);
        check_segment_size_rule(seg_size);
        check_segment_size_rule(seg_size & ((std::uint64_t{1} << 31) | (std::uint64_t{1} << 20)));
        check_segment_size_rule(std::uint64_t{1} << (seg_size % 64));
    }
}

}  // namespace walferry::fuzz
