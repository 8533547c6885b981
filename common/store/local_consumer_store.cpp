#include "store/local_consumer_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/durable_file.h"
#include "base/error.h"

namespace walferry {

namespace {

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) throw_io("cannot create", path, errno);
}

}  // namespace

LocalConsumerStore::LocalConsumerStore(const std::string& archive_dir, ConsumerAccess access) {
    const std::string state_dir = archive_dir + "/" + std::string(kCleanupStateDir);
    if (access == ConsumerAccess::kCreate) {
        make_dir(state_dir);
        make_dir(state_dir + "/consumers");
    } else {
        struct stat st {};
        if (::stat(state_dir.c_str(), &st) != 0) {
            if (errno == ENOENT) return;
            throw_io("cannot stat", state_dir, errno);
        }
    }
    dir_ = state_dir + "/consumers";
    if (access == ConsumerAccess::kRead) return;
    const std::string lock_path = state_dir + "/lock";
    lock_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
    if (!lock_) throw_io("cannot open", lock_path, errno);
    if (retry_eintr([&] { return ::flock(lock_.get(), LOCK_EX); }) != 0) {
        throw_io("cannot lock", lock_path, errno);
    }
}

std::vector<std::string> LocalConsumerStore::entries() {
    UniqueFd dir = open_dir();
    std::vector<std::string> out;
    for (DirEntry& entry : list_dir(dir.get(), dir_, "cannot list")) {
        out.push_back(std::move(entry.name));
    }
    return out;
}

std::optional<std::string> LocalConsumerStore::read(const std::string& entry,
                                                    std::size_t max_bytes) {
    const std::string path = where(entry);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd && errno == ENOENT) return std::nullopt;
    if (!fd) throw_io("cannot open", path, errno);
    return read_all(fd.get(), path, max_bytes);
}

void LocalConsumerStore::publish(const std::string& temp_name, const std::string& name,
                                 const std::string& text) {
    // Replacing is the point here (a consumer moves its cutoff); the lock orders writers, so the
    // temp name is fixed (truncated if a stopped writer left it).
    UniqueFd dir = open_dir();
    write_file_durably(dir.get(), dir_, name, TempName{temp_name, 0, 0640}, text,
                       Publish::kReplace);
}

bool LocalConsumerStore::remove(const std::string& entry) {
    const std::string path = where(entry);
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) return false;
        throw_io("cannot remove", path, errno);
    }
    fsync_dir(dir_);
    return true;
}

UniqueFd LocalConsumerStore::open_dir() const {
    UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_io("cannot open", dir_, errno);
    return fd;
}

}  // namespace walferry
