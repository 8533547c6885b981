// walferry.info at the root of every archive: which cluster the archive belongs to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store.h"

namespace walferry {

inline constexpr std::string_view kArchiveInfoName = "walferry.info";

struct ArchiveInfo {
    std::uint64_t sysid = 0;
    int pg_major = 0;
    std::uint64_t seg_size = 0;
    friend bool operator==(const ArchiveInfo&, const ArchiveInfo&) = default;
};

// "system_identifier = 7301...\npg_major = 15\nwal_segment_size = 16777216\n" (TOML).
std::string format_archive_info(const ArchiveInfo& info);

// Throws Error(kInvalidContainer) naming the problem.
ArchiveInfo parse_archive_info(std::string_view text);

// Reads the store's walferry.info; nullopt if the archive has none yet.
std::optional<ArchiveInfo> read_archive_info(Store& store);

// Makes sure the store belongs to the cluster `segment` came from: creates walferry.info from it
// if absent (a concurrent creator wins and is compared), else compares. Any difference ->
// Error(kForeignCluster) naming both values and the store.
void ensure_archive_info(Store& store, const ArchiveInfo& segment);

}  // namespace walferry
