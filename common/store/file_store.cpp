#include "store/file_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/unique_fd.h"
#include "store/local_consumer_store.h"

namespace walferry {

namespace {

constexpr std::size_t kReadChunk = 1 << 20;
// A temp file untouched this long belongs to a killed writer: a live one writes a segment in
// seconds and keeps touching it.
constexpr std::time_t kStaleTempSeconds = std::time_t{15} * 60;
constexpr int kRandomDigits = 16;
constexpr std::size_t kMaxFileName = 255;

// The archive directory, opened once per operation so that every file is reached with *at()
// calls relative to it and the directory itself can be fsynced.
UniqueFd open_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) return fd;
    int err = errno;
    if (err == ENOENT)
        throw Error(ErrorCode::kIo, "archive directory \"" + dir + "\" does not exist");
    if (err == ENOTDIR) {
        throw Error(ErrorCode::kIo, "archive directory \"" + dir + "\" is not a directory");
    }
    throw_io("cannot open archive directory", dir, err);
}

// ".walferry-tmp.<name>.<16 hex digits>", the name cut so that the whole stays a legal file name
// (the final name is embedded for operators).
TempName temp_name_for(std::string_view name) {
    const std::size_t room =
        kMaxFileName - kTempPrefix.size() - 1 - static_cast<std::size_t>(kRandomDigits);
    return {std::string(kTempPrefix) + std::string(name.substr(0, room)) + ".", kRandomDigits,
            0640};
}

bool is_store_temp(std::string_view name) {
    return name.starts_with(kTempPrefix);
}

// The archive's temp directory (kTempDir), made if missing (0750, with the caller's umask).
// Never followed if it is a link: it must be a directory of the archive itself.
UniqueFd open_temp_dir(int archive_fd, const std::string& path) {
    const std::string name(kTempDir);
    for (int attempt = 0;; ++attempt) {
        UniqueFd fd(
            ::openat(archive_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (fd) return fd;
        int err = errno;
        if (err != ENOENT || attempt == 1) throw_io("cannot open temp directory", path, err);
        if (::mkdirat(archive_fd, name.c_str(), 0750) != 0 && errno != EEXIST)
            throw_io("cannot create temp directory", path, errno);
    }
}

struct OpenObject {
    UniqueFd fd;
    struct stat st {};
    std::string path;
};

// Opens `name` in `dir` for reading, checking it is a regular file; nullopt if it does not exist.
std::optional<OpenObject> open_object(const std::string& dir, std::string_view name) {
    check_object_name(name);
    OpenObject obj;
    obj.path = join_path(dir, name);
    UniqueFd dirfd = open_dir(dir);
    obj.fd.reset(::openat(dirfd.get(), std::string(name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!obj.fd) {
        if (errno == ENOENT) return std::nullopt;
        throw_io("cannot open", obj.path, errno);
    }
    if (::fstat(obj.fd.get(), &obj.st) != 0) throw_io("cannot stat", obj.path, errno);
    if (!S_ISREG(obj.st.st_mode)) {
        throw Error(ErrorCode::kIo, "\"" + obj.path + "\" is not a regular file");
    }
    return obj;
}

}  // namespace

FileStore::FileStore(std::string dir) : dir_(std::move(dir)) {
    if (dir_.empty() || dir_.front() != '/') {
        throw Error(ErrorCode::kConfig,
                    "archive directory \"" + dir_ + "\" is not an absolute path");
    }
}

std::string FileStore::describe() const {
    return "file://" + dir_;
}

bool FileStore::put(std::string_view name_view, ByteParts parts) {
    check_object_name(name_view);
    const std::string name(name_view);
    UniqueFd dirfd = open_dir(dir_);
    const std::string temp_dir = join_path(dir_, kTempDir);
    UniqueFd temp_dirfd = open_temp_dir(dirfd.get(), temp_dir);
    if (!swept_) remove_stale_temps(temp_dirfd.get(), is_store_temp, kStaleTempSeconds, false);
    swept_ = true;

    TempFile temp(temp_dirfd.get(), temp_dir, temp_name_for(name));
    for (const auto& part : parts) temp.write(part);
    fsync_or_throw(temp.fd(), temp.path(), "cannot fsync");
    // temp removed by RAII when the name is taken
    if (!temp.publish_in(dirfd.get(), dir_, name, Publish::kNoReplace)) return false;
    // The new name is durable only once the directory is synced. The temp's removal need not
    // be: a crash that brings it back leaves a second link of a published file, swept as stale.
    fsync_or_throw(dirfd.get(), dir_, "cannot fsync archive directory");
    return true;
}

void FileStore::fsync_or_throw(int fd, const std::string& path, const char* what) const {
    if (on_fsync) on_fsync(path);
    fsync_fd(fd, path, what);
}

void FileStore::sync(std::string_view name) {
    std::optional<OpenObject> obj = open_object(dir_, name);
    if (!obj)
        throw Error(ErrorCode::kIo,
                    "\"" + join_path(dir_, name) + "\" vanished before it was synced");
    fsync_or_throw(obj->fd.get(), obj->path, "cannot fsync");
    UniqueFd dirfd = open_dir(dir_);
    fsync_or_throw(dirfd.get(), dir_, "cannot fsync archive directory");
}

std::optional<ObjectStat> FileStore::stat(std::string_view name, std::size_t head_bytes) {
    std::optional<OpenObject> obj = open_object(dir_, name);
    if (!obj) return std::nullopt;
    ObjectStat out;
    out.size = static_cast<std::uint64_t>(obj->st.st_size);
    out.mtime = static_cast<std::int64_t>(obj->st.st_mtime);
    out.head.resize(static_cast<std::size_t>(std::min<std::uint64_t>(out.size, head_bytes)));
    // Fewer if it shrank since fstat: what is there.
    out.head.resize(pread_full(obj->fd.get(), out.head, 0, obj->path));
    return out;
}

bool FileStore::get(std::string_view name, const ByteSink& sink) {
    std::optional<OpenObject> obj = open_object(dir_, name);
    if (!obj) return false;
    ::posix_fadvise(obj->fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<std::uint8_t> buf(kReadChunk);
    for (;;) {
        std::size_t n = read_full(obj->fd.get(), buf, obj->path);
        if (n == 0) return true;
        sink(std::span<const std::uint8_t>(buf.data(), n));
    }
}

std::vector<std::string> FileStore::list() {
    UniqueFd dirfd = open_dir(dir_);
    std::vector<std::string> names;
    for (DirEntry& entry : list_dir(dirfd.get(), dir_, "cannot read archive directory")) {
        if (entry.name[0] == '.') continue;  // temp files, anything hidden
        bool regular = entry.type == DT_REG;
        if (entry.type == DT_UNKNOWN || entry.type == DT_LNK) {
            struct stat st {};
            regular =
                ::fstatat(dirfd.get(), entry.name.c_str(), &st, 0) == 0 && S_ISREG(st.st_mode);
        }
        if (regular) names.push_back(std::move(entry.name));
    }
    std::sort(names.begin(), names.end());
    return names;
}

// One fstatat per entry, relative to the open directory: no path lookups, no file opened.
std::vector<ListedFile> FileStore::list_files() {
    UniqueFd dirfd = open_dir(dir_);
    std::vector<ListedFile> files;
    for (DirEntry& entry : list_dir(dirfd.get(), dir_, "cannot read archive directory")) {
        if (entry.name[0] == '.') continue;
        struct stat st {};
        if (::fstatat(dirfd.get(), entry.name.c_str(), &st, 0) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        files.push_back(ListedFile{std::move(entry.name), static_cast<std::uint64_t>(st.st_size),
                                   static_cast<std::int64_t>(st.st_mtime)});
    }
    std::sort(files.begin(), files.end(),
              [](const ListedFile& a, const ListedFile& b) { return a.name < b.name; });
    return files;
}

bool FileStore::remove(std::string_view name_view) {
    check_object_name(name_view);
    const std::string name(name_view);
    // Cleanup removes thousands of files in one go: one open of the directory for all of them.
    if (!remove_dirfd_) remove_dirfd_ = open_dir(dir_);
    if (::unlinkat(remove_dirfd_.get(), name.c_str(), 0) == 0) return true;
    if (errno == ENOENT) return false;
    throw_io("cannot remove", join_path(dir_, name), errno);
}

std::unique_ptr<ConsumerStore> FileStore::consumers(ConsumerAccess access, int /*lock_wait_s*/) {
    return std::make_unique<LocalConsumerStore>(dir_, access);
}

}  // namespace walferry
