// The long page header at the start of every WAL segment (XLogLongPageHeaderData). Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "wal/wal_name.h"

namespace walferry {

inline constexpr std::size_t kWalLongHeaderSize = 40;

// The newest XLOG_PAGE_MAGIC walferry was verified with, and its major. A magic above it, up to
// kNewestFormWalMagic, has the form of a newer PostgreSQL's: magics only grow (by 2 to 9 per
// major so far) and every major since 12 has had the high byte 0xD1 (0xD101 .. 0xD121), so
// 0xD1FF leaves room for about 25 more; 0xD2xx would be a new form, to be looked at first.
inline constexpr std::uint16_t kNewestKnownWalMagic = 0xD121;
inline constexpr int kNewestKnownPgMajor = 19;
inline constexpr std::uint16_t kNewestFormWalMagic = 0xD1FF;

struct WalPageHeader {
    std::uint16_t magic = 0;
    std::uint16_t info = 0;
    std::uint32_t tli = 0;
    std::uint64_t pageaddr = 0;
    std::uint64_t sysid = 0;
    std::uint32_t seg_size = 0;
    std::uint32_t block_size = 0;
    // From magic: 12..19; 0 for a newer magic accepted unverified (is_unverified_wal_magic).
    int pg_major = 0;
    bool verified() const noexcept { return pg_major != 0; }
};

// PostgreSQL major version for a WAL page magic (0xD101 -> 12 ... 0xD121 -> 19; 0xD120, 19's
// betas, -> 19 too), 0 if not in the table.
int pg_major_for_magic(std::uint16_t magic) noexcept;

// A magic not in the table but of the form of a newer PostgreSQL's: kNewestKnownWalMagic <
// magic <= kNewestFormWalMagic. Such a segment is archived and fetched on the strength of its
// other header fields, so that a PostgreSQL upgrade never stops archiving; push warns once per
// archive and walferry.info records it (archive_info.h).
bool is_unverified_wal_magic(std::uint16_t magic) noexcept;

// Whether two records of a segment's PostgreSQL version can name the same version. Each is a
// major, or 0 and the unverified magic it stands for (a walferry that did not know it). Two
// majors or two magics must be equal; a major and a magic agree only if the major is newer than
// this walferry knows (recorded by a newer walferry, one that knew the magic).
bool same_pg_version(int major_a, std::uint16_t magic_a, int major_b,
                     std::uint16_t magic_b) noexcept;

// "0xD125".
std::string format_wal_magic(std::uint16_t magic);

// "19", or for 0: "newer than 19 (WAL page magic 0xD125)", for messages.
std::string describe_pg_version(int pg_major, std::uint16_t magic);

// Parses the first 40 bytes (host byte order) and checks what holds for any valid first page:
// known magic (or an unverified newer one), long-header flag (0x0002) set, tli != 0, sysid != 0,
// seg_size a valid wal_segment_size, block_size a power of two 1 KiB .. 64 KiB, pageaddr a multiple
// of seg_size. Fewer than 40 bytes or any failed check -> Error(kInvalidWalHeader) saying which
// field.
WalPageHeader parse_wal_page_header(std::span<const std::uint8_t> bytes);

// Checks the header against the file's name: pageaddr must be the first byte of the named
// segment, and header.tli must not exceed the name's timeline (the first page of a new timeline's
// first segment was written on the parent timeline, so it may be lower).
// Throws Error(kInvalidWalHeader) naming both values.
void check_header_matches_name(const WalPageHeader& header, const WalName& name);

}  // namespace walferry
