#include "prefetch_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>

#include "checked_reader.h"
#include "error.h"
#include "file_store.h"
#include "prefetch_plan.h"
#include "sha256.h"
#include "spool_dir.h"
#include "temp_file.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLockName = "lock";

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

// Every name in `dir` (none if it cannot be read).
std::vector<std::string> list_names(const std::string& dir) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) return names;
    while (const dirent* e = ::readdir(d.get())) names.emplace_back(e->d_name);
    return names;
}

}  // namespace

std::string prefetch_dir(const std::string& spool, const std::string& target_path,
                         const std::vector<Destination>& sources) {
    // Canonical, so that pg_rewind naming the data directory through a symbolic link (or with
    // "..") finds the spool the server filled.
    std::error_code ec;
    fs::path dir = fs::absolute(fs::path(target_path), ec).lexically_normal().parent_path();
    std::string key = fs::weakly_canonical(dir, ec).string();
    if (ec) key = dir.string();
    for (const Destination& s : sources) key += "\n" + s.location.url();
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
    return spool + "/prefetch/" + to_hex(sha256(bytes)).substr(0, 16);
}

PrefetchSpool::PrefetchSpool(std::string dir) : dir_(std::move(dir)) {}

std::string PrefetchSpool::entry_path(const WalName& name) const {
    return dir_ + "/" + name.archive_file_name();
}

std::vector<WalName> PrefetchSpool::entries() const {
    std::vector<WalName> entries;
    for (const std::string& file : list_names(dir_)) {
        WalName name;
        if (try_parse_wal_name(file, name) && name.compressed && name.kind == WalKind::kSegment) {
            name.compressed = false;
            entries.push_back(name);
        }
    }
    std::sort(entries.begin(), entries.end(), segment_before);
    return entries;
}

RestoreOutcome PrefetchSpool::serve(const WalName& name, const std::string& target_path,
                                    std::uint64_t* seg_size) {
    FileStore store(dir_);
    return restore_file(store, name, target_path, seg_size);
}

RestoreOutcome PrefetchSpool::store_from(Store& source, const WalName& name) {
    const std::string final_path = entry_path(name);
    std::optional<TempFile> temp;
    // The decompressed bytes are only checked here; the spool keeps the stored form.
    CheckedReader reader(name, source.describe(), [](std::span<const std::uint8_t>) {});
    bool found = source.get(name.archive_file_name(), [&](std::span<const std::uint8_t> chunk) {
        if (!temp) temp.emplace(dir_ + "/." + name.archive_file_name());
        temp->write(chunk);
        reader.feed(chunk);
    });
    if (!found) return RestoreOutcome::kNotFound;
    reader.finish();
    temp->sync();
    temp->commit(final_path);
    fsync_dir(dir_);
    return RestoreOutcome::kRestored;
}

void PrefetchSpool::remove(const WalName& name) noexcept {
    ::unlink(entry_path(name).c_str());
}

void PrefetchSpool::remove_temps() noexcept {
    for (const std::string& file : list_names(dir_)) {
        if (file.starts_with(".") && file.find(".walferry-tmp.") != std::string::npos) {
            ::unlink((dir_ + "/" + file).c_str());
        }
    }
}

UniqueFd PrefetchSpool::try_lock() {
    make_spool_dirs(dir_);
    std::string path = dir_ + "/" + std::string(kLockName);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw_io("cannot open", path, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return {};
        throw_io("cannot lock", path, errno);
    }
    return fd;
}

}  // namespace walferry
