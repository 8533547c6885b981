// Log sequence numbers and their mapping to WAL segments. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace walferry {

struct Lsn {
    std::uint64_t value = 0;
    friend constexpr auto operator<=>(Lsn, Lsn) = default;
};

// Parses "16/B374D848" (PostgreSQL's %X/%X): high and low half each 1..8 hex digits, either case,
// low half padded ("0/0A000060") or not ("0/A000060"). Throws Error(kInvalidLsn) naming the input.
Lsn parse_lsn(std::string_view text);

// Formats as PostgreSQL prints it: upper-case, unpadded halves ("16/B374D848", "0/0").
std::string format_lsn(Lsn lsn);

// True for every size PostgreSQL accepts as wal_segment_size: a power of two, 1 MiB .. 1 GiB.
bool valid_segment_size(std::uint64_t seg_size) noexcept;

// Throws Error(kInvalidWalHeader) unless valid_segment_size().
void check_segment_size(std::uint64_t seg_size);

// Segments per "xlogid" (the middle 8 hex digits of a name): 2^32 / seg_size.
std::uint64_t segments_per_xlogid(std::uint64_t seg_size);

// Segment number holding `lsn` (lsn / seg_size), as XLByteToSeg.
std::uint64_t lsn_to_segno(Lsn lsn, std::uint64_t seg_size);

// First LSN of segment `segno`, as XLogSegNoOffsetToRecPtr(segno, 0).
Lsn segno_to_lsn(std::uint64_t segno, std::uint64_t seg_size);

// Offset of `lsn` inside its segment.
std::uint64_t lsn_segment_offset(Lsn lsn, std::uint64_t seg_size);

}  // namespace walferry
