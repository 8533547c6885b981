// WAL file names as PostgreSQL writes them and as walferry stores them. Pure: no I/O.
//
//   segment         000000010000000A000000FF             (tli, log, seg: 8 upper-case hex each)
//   partial         000000010000000A000000FF.partial
//   history         00000002.history
//   backup history  000000010000000A000000FF.00000028.backup   (last part: offset in segment)
// Any of these may carry the archive suffix ".zst". Everything else is rejected.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace walferry {

enum class WalKind { kSegment, kPartial, kHistory, kBackupHistory };

struct WalName {
    WalKind kind = WalKind::kSegment;
    std::uint32_t tli = 0;     // never 0
    std::uint32_t log = 0;     // middle 8 hex digits (unused for kHistory)
    std::uint32_t seg = 0;     // last 8 hex digits (unused for kHistory)
    std::uint32_t offset = 0;  // kBackupHistory only: the 8 hex digits before ".backup"
    bool compressed = false;   // carries the ".zst" archive suffix

    friend bool operator==(const WalName&, const WalName&) = default;

    // Segment number for this name, given wal_segment_size: log * 2^32/seg_size + seg.
    // Throws Error(kInvalidName) when seg >= 2^32/seg_size (no such segment at that size).
    std::uint64_t segno(std::uint64_t seg_size) const;

    // Name as PostgreSQL uses it (never with ".zst").
    std::string wal_file_name() const;

    // Name stored in the archive: wal_file_name() + ".zst".
    std::string archive_file_name() const;

    // True for kSegment and kPartial (files holding WAL pages of a segment).
    bool has_wal_pages() const noexcept {
        return kind == WalKind::kSegment || kind == WalKind::kPartial;
    }
};

inline constexpr std::size_t kMaxWalNameLength = 64;

// Parses a bare file name (no directory). Rejects: empty, longer than 64, NUL or any byte outside
// [0-9A-Z.a-z] (so '/', '\\' and spaces), "." / "..", lower-case hex, wrong lengths, unknown
// suffixes, timeline 0. Throws Error(kInvalidName) with a message quoting the (escaped) name
// and saying what is wrong.
WalName parse_wal_name(std::string_view name);

// Like parse_wal_name but returns false instead of throwing (for listing directories).
bool try_parse_wal_name(std::string_view name, WalName& out) noexcept;

// Name of segment `segno` on timeline `tli` for the given segment size (XLogFileName).
WalName segment_name(std::uint32_t tli, std::uint64_t segno, std::uint64_t seg_size);

// Name of "<tli>.history".
WalName history_name(std::uint32_t tli);

// Next / previous segment of `name` on the same timeline (kind becomes kSegment, compressed
// kept). previous of segno 0 throws Error(kInvalidName); next past the last segment too.
WalName next_segment(const WalName& name, std::uint64_t seg_size);
WalName previous_segment(const WalName& name, std::uint64_t seg_size);

// Escapes a name for error messages (escape_bytes): printable ASCII but '"' and '\\' as is,
// everything else as \xNN; cut after 80 bytes.
std::string quote_name(std::string_view raw);

}  // namespace walferry
