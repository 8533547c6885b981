#include "archive_fetch/restore_file.h"

#include <fcntl.h>

#include <optional>

#include "archive/archive_info.h"
#include "archive/checked_reader.h"
#include "archive_fetch/cluster_guard.h"
#include "archive_fetch/temp_file.h"
#include "base/error.h"

namespace walferry {

RestoreOutcome not_found_in(Store& store) {
    if (!store.stat(kArchiveInfoName, 0)) {
        throw Error(ErrorCode::kConfig,
                    store.describe() + " has no " + std::string(kArchiveInfoName) +
                        ": not an archive walferry pushed to (a wrong path, or nothing pushed "
                        "yet), so it cannot tell that a file is not archived");
    }
    return RestoreOutcome::kNotFound;
}

std::optional<ContainerMeta> download_checked(Store& store, const WalName& name,
                                              std::optional<TempFile>& temp, int dir_fd,
                                              const std::string& dir, const TempName& temp_name,
                                              std::optional<std::uint64_t> server_sysid) {
    CheckedReader reader(
        name, store.describe(),
        [&](std::span<const std::uint8_t> bytes) {
            if (!temp) temp.emplace(dir_fd, dir, temp_name);
            temp->write(bytes);
        },
        server_sysid);
    bool found = store.get(name.archive_file_name(),
                           [&](std::span<const std::uint8_t> chunk) { reader.feed(chunk); });
    if (!found) return std::nullopt;
    ContainerMeta meta = reader.finish();
    if (name.has_wal_pages()) check_archive_cluster(store, meta.sysid, name.archive_file_name());
    if (!temp) temp.emplace(dir_fd, dir, temp_name);  // an empty file: no first byte made it
    return meta;
}

RestoreOutcome restore_file(Store& store, const WalName& name, const std::string& target_path,
                            std::uint64_t* raw_size, std::optional<std::uint64_t> server_sysid) {
    std::optional<TempFile> temp;
    std::optional<ContainerMeta> meta = download_checked(
        store, name, temp, AT_FDCWD, "", temp_name_next_to(target_path), server_sysid);
    if (!meta) return not_found_in(store);
    temp->publish(target_path, Publish::kReplace);
    if (raw_size) *raw_size = meta->raw_size;
    return RestoreOutcome::kRestored;
}

}  // namespace walferry
