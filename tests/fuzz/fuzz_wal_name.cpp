// Fuzzes parse_wal_name against an independent reading of the grammar in wal_name.h, and checks
// that every accepted name is canonical: formatting it gives back the input, both forms are short
// and plain (no '/'), and segment arithmetic on it round-trips.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "fuzz_check.h"
#include "wal/lsn.h"
#include "wal/wal_name.h"

namespace walferry::fuzz {
namespace {

// Exactly 8 upper-case hex digits, as every part of a WAL name.
bool upper_hex(std::string_view s, std::uint32_t& value) {
    auto parsed = s.size() == 8 ? parse_hex(s, false) : std::nullopt;
    if (parsed) value = *parsed;
    return parsed.has_value();
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The grammar of wal_name.h, written out independently of the implementation.
std::optional<WalName> reference_parse(std::string_view s) {
    if (s.size() > kMaxWalNameLength) return std::nullopt;
    WalName n;
    if (ends_with(s, ".zst")) {
        n.compressed = true;
        s.remove_suffix(4);
    }
    auto segment_part = [&n](std::string_view hex) {
        return hex.size() == 24 && upper_hex(hex.substr(0, 8), n.tli) &&
               upper_hex(hex.substr(8, 8), n.log) && upper_hex(hex.substr(16, 8), n.seg);
    };
    if (s.size() == 24) {
        n.kind = WalKind::kSegment;
        if (!segment_part(s)) return std::nullopt;
    } else if (s.size() == 24 + 8 && ends_with(s, ".partial")) {
        n.kind = WalKind::kPartial;
        if (!segment_part(s.substr(0, 24))) return std::nullopt;
    } else if (s.size() == 8 + 8 && ends_with(s, ".history")) {
        n.kind = WalKind::kHistory;
        if (!upper_hex(s.substr(0, 8), n.tli)) return std::nullopt;
    } else if (s.size() == 24 + 1 + 8 + 7 && ends_with(s, ".backup") && s[24] == '.') {
        n.kind = WalKind::kBackupHistory;
        if (!segment_part(s.substr(0, 24)) || !upper_hex(s.substr(25, 8), n.offset)) {
            return std::nullopt;
        }
    } else {
        return std::nullopt;
    }
    if (n.tli == 0) return std::nullopt;
    return n;
}

bool same_name(const WalName& a, const WalName& b) {
    if (a.kind != b.kind || a.tli != b.tli || a.compressed != b.compressed) return false;
    if (a.kind == WalKind::kHistory) return true;  // log, seg, offset unused
    return a.log == b.log && a.seg == b.seg &&
           (a.kind != WalKind::kBackupHistory || a.offset == b.offset);
}

void check_plain(const std::string& formatted) {
    WALFERRY_FUZZ_CHECK(!formatted.empty() && formatted.size() <= kMaxWalNameLength);
    WALFERRY_FUZZ_CHECK(formatted.find('/') == std::string::npos);
    WALFERRY_FUZZ_CHECK(formatted.find('\0') == std::string::npos);
    WALFERRY_FUZZ_CHECK(formatted != "." && formatted != "..");
}

void check_segment_arithmetic(const WalName& name) {
    for (std::uint64_t seg_size = 1 << 20; seg_size <= (1 << 30); seg_size <<= 1) {
        std::uint64_t per_xlogid = segments_per_xlogid(seg_size);
        if (name.seg >= per_xlogid) {
            try {
                (void)name.segno(seg_size);
                fail(__FILE__, __LINE__, "segno accepted a seg beyond 2^32/seg_size");
            } catch (const Error& e) {
                check_rejection(e, ErrorCode::kInvalidName);
            }
            continue;
        }
        std::uint64_t segno = name.segno(seg_size);
        WALFERRY_FUZZ_CHECK(segno == name.log * per_xlogid + name.seg);
        WalName rebuilt = segment_name(name.tli, segno, seg_size);
        WALFERRY_FUZZ_CHECK(rebuilt.kind == WalKind::kSegment && !rebuilt.compressed);
        WALFERRY_FUZZ_CHECK(rebuilt.tli == name.tli && rebuilt.log == name.log &&
                            rebuilt.seg == name.seg);
        try {
            WalName next = next_segment(name, seg_size);
            WALFERRY_FUZZ_CHECK(next.kind == WalKind::kSegment && next.tli == name.tli);
            WALFERRY_FUZZ_CHECK(next.compressed == name.compressed);
            WALFERRY_FUZZ_CHECK(next.segno(seg_size) == segno + 1);
            WalName back = previous_segment(next, seg_size);
            WALFERRY_FUZZ_CHECK(back.segno(seg_size) == segno && back.tli == name.tli);
        } catch (const Error& e) {
            check_rejection(e, ErrorCode::kInvalidName);
            // Only the very last segment has no successor.
            WALFERRY_FUZZ_CHECK(name.log == 0xFFFFFFFFu && name.seg == per_xlogid - 1);
        }
        if (segno == 0) {
            try {
                (void)previous_segment(name, seg_size);
                fail(__FILE__, __LINE__, "previous_segment of segment 0 succeeded");
            } catch (const Error& e) {
                check_rejection(e, ErrorCode::kInvalidName);
            }
        }
    }
}

void check_accepted(std::string_view input, const WalName& name) {
    WALFERRY_FUZZ_CHECK(name.tli != 0);
    std::string wal = name.wal_file_name();
    std::string archived = name.archive_file_name();
    check_plain(wal);
    check_plain(archived);
    WALFERRY_FUZZ_CHECK(archived == wal + ".zst");
    // Accepted names are canonical: formatting gives back exactly the input.
    WALFERRY_FUZZ_CHECK(input == (name.compressed ? archived : wal));

    WalName plain = name;
    plain.compressed = false;
    WalName zst = name;
    zst.compressed = true;
    WALFERRY_FUZZ_CHECK(parse_wal_name(wal) == plain);
    WALFERRY_FUZZ_CHECK(parse_wal_name(archived) == zst);
    WALFERRY_FUZZ_CHECK(name.has_wal_pages() ==
                        (name.kind == WalKind::kSegment || name.kind == WalKind::kPartial));
    if (name.kind == WalKind::kHistory) {
        WALFERRY_FUZZ_CHECK(history_name(name.tli) == plain);
    } else {
        check_segment_arithmetic(name);
    }
}

// The first bytes as numbers: segment_name must produce names that parse back to themselves.
void check_built_name(const std::uint8_t* data, std::size_t size) {
    if (size < 13) return;
    std::uint32_t tli;
    std::uint64_t segno;
    std::memcpy(&tli, data, sizeof tli);
    std::memcpy(&segno, data + 4, sizeof segno);
    std::uint64_t seg_size = std::uint64_t{1} << (20 + data[12] % 11);
    if (tli == 0) return;
    if (segno / segments_per_xlogid(seg_size) > 0xFFFFFFFFu) return;  // no name for it
    WalName name = segment_name(tli, segno, seg_size);
    WALFERRY_FUZZ_CHECK(name.segno(seg_size) == segno);
    WALFERRY_FUZZ_CHECK(parse_wal_name(name.wal_file_name()) == name);
    WalName history = history_name(tli);
    WALFERRY_FUZZ_CHECK(parse_wal_name(history.wal_file_name()) == history);
}

}  // namespace

void test_one_input(std::span<const std::uint8_t> data) {
    std::string_view input = as_text(data);
    auto parsed = accepted(ErrorCode::kInvalidName, [&] { return parse_wal_name(input); });
    WalName tried;
    bool try_ok = try_parse_wal_name(input, tried);
    WALFERRY_FUZZ_CHECK(try_ok == parsed.has_value());

    std::optional<WalName> expected = reference_parse(input);
    WALFERRY_FUZZ_CHECK(parsed.has_value() == expected.has_value());
    if (parsed) {
        WALFERRY_FUZZ_CHECK(tried == *parsed);
        WALFERRY_FUZZ_CHECK(same_name(*parsed, *expected));
        check_accepted(input, *parsed);
    }

    for (char c : quote_name(input)) {
        auto u = static_cast<unsigned char>(c);
        WALFERRY_FUZZ_CHECK(u >= 0x20 && u < 0x7f);
    }
    check_built_name(data.data(), data.size());
}

}  // namespace walferry::fuzz
