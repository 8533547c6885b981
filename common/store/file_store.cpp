#include "store/file_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <memory>

#include "base/error.h"
#include "base/fd_io.h"
#include "base/unique_fd.h"

namespace walferry {

namespace {

constexpr std::size_t kReadChunk = 1 << 20;
// A temp file untouched this long belongs to a killed writer: a live one writes a segment in
// seconds and keeps touching it.
constexpr std::time_t kStaleTempSeconds = 15 * 60;
constexpr std::size_t kRandomBytes = 8;
constexpr std::size_t kMaxFileName = 255;

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};
using DirStream = std::unique_ptr<DIR, DirCloser>;

std::string join(const std::string& dir, std::string_view name) {
    return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

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

// Walks the entries of `dirfd` (which stays open and usable), calling fn(entry) for each.
template <typename Fn>
void for_each_entry(int dirfd, const std::string& dir, Fn fn) {
    UniqueFd copy(::fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!copy) throw_io("cannot read archive directory", dir, errno);
    DirStream stream(::fdopendir(copy.get()));
    if (!stream) throw_io("cannot read archive directory", dir, errno);
    copy.release();  // owned by the DIR now
    ::rewinddir(stream.get());
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(stream.get());
        if (entry == nullptr) {
            if (errno != 0) throw_io("cannot read archive directory", dir, errno);
            return;
        }
        fn(*entry);
    }
}

std::string random_hex() {
    unsigned char bytes[kRandomBytes];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        // Uniqueness, not secrecy, is what matters (O_EXCL catches the rest).
        std::uint64_t mix = static_cast<std::uint64_t>(::getpid()) << 32 ^
                            static_cast<std::uint64_t>(std::time(nullptr)) ^
                            reinterpret_cast<std::uintptr_t>(&bytes);
        for (auto& b : bytes) b = static_cast<unsigned char>(mix >>= 5);
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 0x0f]);
    }
    return out;
}

// Removes walferry temp files (of any name) left behind by killed writers.
void remove_stale_temps(int dirfd, const std::string& dir) {
    const std::time_t now = std::time(nullptr);
    for_each_entry(dirfd, dir, [&](const dirent& entry) {
        std::string_view name = entry.d_name;
        if (!name.starts_with(kTempPrefix)) return;
        struct stat st {};
        if (::fstatat(dirfd, entry.d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return;  // gone
        if (!S_ISREG(st.st_mode) || now - st.st_mtime < kStaleTempSeconds) return;
        // Failing to remove litter must not fail the push; ENOENT means another pusher won.
        ::unlinkat(dirfd, entry.d_name, 0);
    });
}

// A temp file in the archive directory, unlinked on destruction unless it was consumed.
class TempFile {
  public:
    TempFile(int dirfd, const std::string& dir, std::string_view name) : dirfd_(dirfd) {
        // The final name is embedded for operators; cut it so the temp name stays legal.
        std::size_t room = kMaxFileName - kTempPrefix.size() - 1 - 2 * kRandomBytes;
        std::string stem = std::string(kTempPrefix) + std::string(name.substr(0, room)) + ".";
        for (int attempt = 0;; ++attempt) {
            name_ = stem + random_hex();
            path_ = join(dir, name_);
            fd_.reset(
                ::openat(dirfd, name_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640));
            if (fd_) return;
            int err = errno;
            if (err != EEXIST || attempt == 8) {
                name_.clear();
                throw_io("cannot create temporary file", path_, err);
            }
        }
    }
    ~TempFile() {
        if (!name_.empty()) ::unlinkat(dirfd_, name_.c_str(), 0);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const noexcept { return fd_.get(); }
    const std::string& name() const noexcept { return name_; }
    const std::string& path() const noexcept { return path_; }

    void close() {
        if (::close(fd_.release()) != 0) throw_io("cannot close", path_, errno);
    }
    // The name no longer needs removing (renamed away).
    void consumed() noexcept { name_.clear(); }
    void remove() {
        if (::unlinkat(dirfd_, name_.c_str(), 0) != 0 && errno != ENOENT) {
            throw_io("cannot remove temporary file", path_, errno);
        }
        name_.clear();
    }

  private:
    int dirfd_;
    std::string name_;
    std::string path_;
    UniqueFd fd_;
};

bool link_unsupported(int err) {
    return err == EPERM || err == EOPNOTSUPP || err == ENOTSUP || err == EXDEV || err == ENOSYS;
}

// Gives `temp` the name `name` without ever replacing an existing file. False if `name` exists.
bool publish_no_replace(int dirfd, TempFile& temp, const std::string& name,
                        const std::string& path) {
    if (::linkat(dirfd, temp.name().c_str(), dirfd, name.c_str(), 0) == 0) {
        temp.remove();
        return true;
    }
    int err = errno;
    if (err == EEXIST) return false;
    if (!link_unsupported(err)) throw_io("cannot link temporary file to", path, err);
    // Some file systems (vfat, several FUSE ones) have no hard links but can rename atomically.
    if (::renameat2(dirfd, temp.name().c_str(), dirfd, name.c_str(), RENAME_NOREPLACE) == 0) {
        temp.consumed();
        return true;
    }
    err = errno;
    if (err == EEXIST) return false;
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
        throw Error(ErrorCode::kUnsupported,
                    "cannot publish \"" + path +
                        "\" safely: the file system supports neither link() nor "
                        "renameat2(RENAME_NOREPLACE), so an existing file could be replaced");
    }
    throw_io("cannot rename temporary file to", path, err);
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
    obj.path = join(dir, name);
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
    const std::string path = join(dir_, name);
    UniqueFd dirfd = open_dir(dir_);
    remove_stale_temps(dirfd.get(), dir_);

    TempFile temp(dirfd.get(), dir_, name);
    for (const auto& part : parts) write_all(temp.fd(), part, temp.path());
    fsync_or_throw(temp.fd(), temp.path(), "cannot fsync");
    temp.close();
    if (!publish_no_replace(dirfd.get(), temp, name, path)) return false;  // temp removed by RAII
    // The new name (and the temp's removal) are durable only once the directory is synced.
    fsync_or_throw(dirfd.get(), dir_, "cannot fsync archive directory");
    return true;
}

void FileStore::fsync_or_throw(int fd, const std::string& path, const char* what) const {
    if (on_fsync) on_fsync(path);
    if (::fsync(fd) != 0) throw_io(what, path, errno);
}

void FileStore::sync(std::string_view name) {
    std::optional<OpenObject> obj = open_object(dir_, name);
    if (!obj)
        throw Error(ErrorCode::kIo, "\"" + join(dir_, name) + "\" vanished before it was synced");
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
    std::size_t got = 0;
    while (got < out.head.size()) {
        ssize_t n = ::pread(obj->fd.get(), out.head.data() + got, out.head.size() - got,
                            static_cast<off_t>(got));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot read", obj->path, errno);
        }
        if (n == 0) break;  // shrank since fstat: report what is there
        got += static_cast<std::size_t>(n);
    }
    out.head.resize(got);
    return out;
}

bool FileStore::get(std::string_view name, const ByteSink& sink) {
    std::optional<OpenObject> obj = open_object(dir_, name);
    if (!obj) return false;
    ::posix_fadvise(obj->fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::vector<std::uint8_t> buf(kReadChunk);
    for (;;) {
        ssize_t n = ::read(obj->fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot read", obj->path, errno);
        }
        if (n == 0) return true;
        sink(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    }
}

std::vector<std::string> FileStore::list() {
    UniqueFd dirfd = open_dir(dir_);
    std::vector<std::string> names;
    for_each_entry(dirfd.get(), dir_, [&](const dirent& entry) {
        if (entry.d_name[0] == '.') return;  // ".", "..", temp files, anything hidden
        bool regular = entry.d_type == DT_REG;
        if (entry.d_type == DT_UNKNOWN || entry.d_type == DT_LNK) {
            struct stat st {};
            regular = ::fstatat(dirfd.get(), entry.d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
        }
        if (regular) names.emplace_back(entry.d_name);
    });
    std::sort(names.begin(), names.end());
    return names;
}

bool FileStore::remove(std::string_view name_view) {
    check_object_name(name_view);
    const std::string name(name_view);
    // Cleanup removes thousands of files in one go: one open of the directory for all of them.
    if (!remove_dirfd_) remove_dirfd_ = open_dir(dir_);
    if (::unlinkat(remove_dirfd_.get(), name.c_str(), 0) == 0) return true;
    if (errno == ENOENT) return false;
    throw_io("cannot remove", join(dir_, name), errno);
}

}  // namespace walferry
