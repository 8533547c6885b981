#include "archive_fetch/cluster_guard.h"

#include <filesystem>

#include "archive/archive_info.h"
#include "archive/pg_control.h"
#include "base/error.h"

namespace walferry {

namespace fs = std::filesystem;

std::optional<std::uint64_t> recovering_server_sysid(const std::string& cwd,
                                                     const std::string& target_path) {
    fs::path wal_dir = (fs::path(cwd) / target_path).lexically_normal().parent_path();
    if (!target_path.empty() && wal_dir.filename() == "pg_wal") {
        if (auto sysid = read_pg_control_sysid(wal_dir.parent_path().string())) return sysid;
    }
    return read_pg_control_sysid(cwd);
}

void check_archive_cluster(Store& store, std::uint64_t segment_sysid, const std::string& file) {
    std::optional<ArchiveInfo> info = read_archive_info(store);
    if (!info) {
        throw Error(ErrorCode::kForeignCluster, std::string(kArchiveInfoName) + " is missing in " +
                                                    store.describe() + ": which cluster \"" + file +
                                                    "\" belongs to is unknown");
    }
    if (info->sysid == segment_sysid) return;
    throw Error(ErrorCode::kForeignCluster,
                "\"" + file + "\" in " + store.describe() +
                    " belongs to another cluster than the archive: system identifier " +
                    std::to_string(segment_sysid) + ", " + std::string(kArchiveInfoName) +
                    " records " + std::to_string(info->sysid));
}

}  // namespace walferry
