#include "wal/wal_page_header.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/error.h"
#include "wal/lsn.h"

namespace walferry {

namespace {

constexpr std::uint16_t kLongHeaderFlag = 0x0002;

struct MagicVersion {
    std::uint16_t magic;
    int major;
};

// XLOG_PAGE_MAGIC of each supported major version (src/include/access/xlog_internal.h).
constexpr MagicVersion kMagics[] = {{0xD101, 12}, {0xD106, 13}, {0xD10D, 14},
                                    {0xD110, 15}, {0xD113, 16}, {0xD116, 17},
                                    {0xD118, 18}, {0xD120, 19}, {0xD121, 19}};

template <typename T>
T load(std::span<const std::uint8_t> bytes, std::size_t offset) {
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
}

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llX", static_cast<unsigned long long>(v));
    return buf;
}

[[noreturn]] void bad(const std::string& problem) {
    throw Error(ErrorCode::kInvalidWalHeader, "invalid WAL page header: " + problem);
}

}  // namespace

int pg_major_for_magic(std::uint16_t magic) noexcept {
    for (const auto& m : kMagics) {
        if (m.magic == magic) return m.major;
    }
    return 0;
}

bool is_unverified_wal_magic(std::uint16_t magic) noexcept {
    return magic > kNewestKnownWalMagic && magic <= kNewestFormWalMagic;
}

bool same_pg_version(int major_a, std::uint16_t magic_a, int major_b,
                     std::uint16_t magic_b) noexcept {
    if (major_a != 0 && major_b != 0) return major_a == major_b;
    if (major_a == 0 && major_b == 0) return magic_a == magic_b;
    return std::max(major_a, major_b) > kNewestKnownPgMajor;
}

std::string format_wal_magic(std::uint16_t magic) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04X", static_cast<unsigned>(magic));
    return buf;
}

std::string describe_pg_version(int pg_major, std::uint16_t magic) {
    if (pg_major != 0) return std::to_string(pg_major);
    return "newer than " + std::to_string(kNewestKnownPgMajor) + " (WAL page magic " +
           format_wal_magic(magic) + ")";
}

WalPageHeader parse_wal_page_header(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < kWalLongHeaderSize) {
        bad("only " + std::to_string(bytes.size()) + " bytes, a long page header has " +
            std::to_string(kWalLongHeaderSize));
    }
    WalPageHeader h;
    h.magic = load<std::uint16_t>(bytes, 0);
    h.info = load<std::uint16_t>(bytes, 2);
    h.tli = load<std::uint32_t>(bytes, 4);
    h.pageaddr = load<std::uint64_t>(bytes, 8);
    h.sysid = load<std::uint64_t>(bytes, 24);
    h.seg_size = load<std::uint32_t>(bytes, 32);
    h.block_size = load<std::uint32_t>(bytes, 36);
    h.pg_major = pg_major_for_magic(h.magic);
    if (h.pg_major == 0 && !is_unverified_wal_magic(h.magic)) {
        bad("magic " + hex(h.magic) + " is not that of PostgreSQL 12 to " +
            std::to_string(kNewestKnownPgMajor) + ", nor of a newer version (" +
            hex(kNewestKnownWalMagic + 1u) + " to " + hex(kNewestFormWalMagic) + ")");
    }
    if ((h.info & kLongHeaderFlag) == 0) {
        bad("the long-header flag is not set (info " + hex(h.info) +
            "): not the first page of a segment");
    }
    if (h.tli == 0) bad("timeline is 0");
    if (h.sysid == 0) bad("system identifier is 0");
    if (!valid_segment_size(h.seg_size)) {
        bad("segment size " + std::to_string(h.seg_size) +
            " is not a power of two between 1 MiB and 1 GiB");
    }
    if (h.block_size < 1024 || h.block_size > 65536 || (h.block_size & (h.block_size - 1)) != 0) {
        bad("block size " + std::to_string(h.block_size) +
            " is not a power of two between 1 KiB and 64 KiB");
    }
    if (h.pageaddr % h.seg_size != 0) {
        bad("page address " + format_lsn(Lsn{h.pageaddr}) + " is not the start of a segment");
    }
    return h;
}

void check_header_matches_name(const WalPageHeader& header, const WalName& name) {
    if (name.seg >= segments_per_xlogid(header.seg_size)) {
        throw Error(ErrorCode::kInvalidWalHeader,
                    "WAL page header says wal_segment_size is " + std::to_string(header.seg_size) +
                        ", at which there is no segment " + name.wal_file_name());
    }
    std::uint64_t expected = segno_to_lsn(name.segno(header.seg_size), header.seg_size).value;
    if (header.pageaddr != expected) {
        throw Error(ErrorCode::kInvalidWalHeader, "WAL page header says the segment starts at " +
                                                      format_lsn(Lsn{header.pageaddr}) +
                                                      " but the name " + name.wal_file_name() +
                                                      " means " + format_lsn(Lsn{expected}));
    }
    if (header.tli > name.tli) {
        throw Error(ErrorCode::kInvalidWalHeader,
                    "WAL page header says timeline " + std::to_string(header.tli) +
                        " but the name " + name.wal_file_name() + " is on timeline " +
                        std::to_string(name.tli));
    }
}

}  // namespace walferry
