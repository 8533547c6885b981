// The long page header at the start of every WAL segment (XLogLongPageHeaderData). Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wal_name.h"

namespace walferry {

inline constexpr std::size_t kWalLongHeaderSize = 40;

struct WalPageHeader {
    std::uint16_t magic = 0;
    std::uint16_t info = 0;
    std::uint32_t tli = 0;
    std::uint64_t pageaddr = 0;
    std::uint64_t sysid = 0;
    std::uint32_t seg_size = 0;
    std::uint32_t block_size = 0;
    int pg_major = 0;  // from magic: 12..18
};

// PostgreSQL major version for a WAL page magic (0xD101 -> 12 ... 0xD118 -> 18), 0 if unknown.
int pg_major_for_magic(std::uint16_t magic) noexcept;

// Parses the first 40 bytes (host byte order) and checks what holds for any valid first page:
// known magic, long-header flag (0x0002) set, tli != 0, sysid != 0, seg_size a valid
// wal_segment_size, block_size a power of two 1 KiB .. 64 KiB, pageaddr a multiple of seg_size.
// Fewer than 40 bytes or any failed check -> Error(kInvalidWalHeader) saying which field.
WalPageHeader parse_wal_page_header(std::span<const std::uint8_t> bytes);

// Checks the header against the file's name: pageaddr must be the first byte of the named
// segment, and header.tli must not exceed the name's timeline (the first page of a new timeline's
// first segment was written on the parent timeline, so it may be lower).
// Throws Error(kInvalidWalHeader) naming both values.
void check_header_matches_name(const WalPageHeader& header, const WalName& name);

}  // namespace walferry
