// walferry.info at the root of every archive: which cluster the archive belongs to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "archive/container.h"
#include "store/store.h"
#include "wal/wal_page_header.h"

namespace walferry {

inline constexpr std::string_view kArchiveInfoName = "walferry.info";

struct ArchiveInfo {
    std::uint64_t sysid = 0;
    int pg_major = 0;  // 0: unverified_magic is a newer PostgreSQL's than this walferry knows
    std::uint64_t seg_size = 0;
    std::uint16_t unverified_magic = 0;  // only with pg_major 0
    friend bool operator==(const ArchiveInfo&, const ArchiveInfo&) = default;
};

// The cluster a segment's page header, or a stored segment's metadata, names. A magic that was
// unverified when it was recorded but is in this walferry's table counts as its major.
ArchiveInfo cluster_of(const WalPageHeader& header);
ArchiveInfo cluster_of(const ContainerMeta& meta);

// "system_identifier = 7301...\npg_major = 15\nwal_segment_size = 16777216\n" (TOML). An
// unverified magic adds "unverified_wal_magic = 0xD125" and writes pg_major as
// kNewestKnownPgMajor + 1, a lower bound that readers ignoring the new key still accept.
std::string format_archive_info(const ArchiveInfo& info);

// Throws Error(kInvalidContainer) naming the problem.
ArchiveInfo parse_archive_info(std::string_view text);

// Reads the store's walferry.info; nullopt if the archive has none yet.
std::optional<ArchiveInfo> read_archive_info(Store& store);

// walferry-push's check that the store belongs to the cluster `segment` came from: compares with
// walferry.info. If there is none, it is created from `segment` (a concurrent creator wins and is
// compared) -- unless the archive already holds segments: then the newest of them whose
// metadata can be read says whose the archive is, and walferry.info is re-created only if
// `segment` agrees (one warning line). Any difference -> Error(kForeignCluster) naming both
// values and the store. Creating it for an unverified magic prints one warning: once per
// archive, never per file.
void ensure_archive_info(Store& store, const ArchiveInfo& segment);

}  // namespace walferry
