#include "archive_push/spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/error.h"
#include "base/spool_dir.h"
#include "store/file_store.h"

namespace walferry {

namespace fs = std::filesystem;

Spool::Spool(std::string dir) : dir_(std::move(dir)) {
    if (dir_.empty() || dir_[0] != '/') {
        throw Error(ErrorCode::kConfig, "spool \"" + dir_ + "\" must be an absolute path");
    }
}

void Spool::check_outside_data_dir(const std::string& wal_path) const {
    check_spool_outside_data_dir(dir_, wal_path);
}

std::unique_ptr<Store> Spool::backlog(const std::string& name, bool create) const {
    const std::string relative = std::string(kSpoolBacklogDir) + "/" + destination_key(name);
    if (!open_spool_dir(dir_, relative, create)) return nullptr;
    return std::make_unique<FileStore>(dir_ + "/" + relative);
}

std::vector<std::string> Spool::backlog_keys() const {
    std::vector<std::string> keys;
    std::error_code ec;
    try {
        if (!open_spool_dir(dir_, "backlog", false)) return keys;
    } catch (const Error&) {
        return keys;  // backlog() says why, to each destination's drain and queueing
    }
    for (const auto& e : fs::directory_iterator(dir_ + "/backlog", ec)) {
        // Not through a symbolic link: backlog() refuses those.
        if (e.is_directory() && !e.is_symlink()) keys.push_back(e.path().filename().string());
    }
    return keys;
}

std::uint64_t Spool::backlog_total_bytes() const {
    std::uint64_t total = 0;
    std::error_code ec;
    for (const auto& key : backlog_keys()) {
        for (const auto& e : fs::directory_iterator(dir_ + "/backlog/" + key, ec)) {
            if (!e.is_regular_file(ec)) continue;
            std::uintmax_t size = e.file_size(ec);
            if (!ec) total += size;
        }
    }
    return total;
}

std::unique_ptr<Store> Spool::markers(bool create) const {
    try {
        if (!open_spool_dir(dir_, "batch", create)) return nullptr;
    } catch (const Error&) {
        // Looking up a marker is only a shortcut: without one the file is pushed itself. Making
        // the directory fails the caller, which says why.
        if (create) throw;
        return nullptr;
    }
    return std::make_unique<FileStore>(dir_ + "/batch");
}

}  // namespace walferry
