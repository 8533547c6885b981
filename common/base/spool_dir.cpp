#include "base/spool_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/unique_fd.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
    throw Error(ErrorCode::kInvalidState,
                "spool directory \"" + path + "\" " + why + "; refusing to use it");
}

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

// The checks of spool_dir.h on the open directory `fd` (`path`, for messages); `tighten`
// removes group and other permissions (not on the root, which may be the operator's).
void check_own_dir(int fd, const std::string& path, bool tighten) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_io("cannot stat", path, errno);
    if (!S_ISDIR(st.st_mode)) refuse(path, "is not a directory");
    if (st.st_uid != ::geteuid()) {
        refuse(path, "is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                         std::to_string(::geteuid()) + ")");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        refuse(path,
               "is writable by other users (mode " + octal_mode(st.st_mode) + "; it must be 0700)");
    }
    if (tighten && (st.st_mode & 077) != 0 && ::fchmod(fd, st.st_mode & 07700) != 0) {
        throw_io("cannot make private (chmod 700)", path, errno);
    }
}

// openat(at, name) as a directory, never through a symbolic link; -1 with errno ENOENT if it
// is missing.
int open_dir_at(int at, const std::string& name, const std::string& path) {
    int fd = ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || errno == ENOENT) return fd;
    const int err = errno;
    struct stat st {};
    if (::fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        // O_DIRECTORY | O_NOFOLLOW fails with ENOTDIR or ELOOP on a link, as on a file.
        if (S_ISLNK(st.st_mode)) refuse(path, "is a symbolic link");
        if (!S_ISDIR(st.st_mode)) refuse(path, "is not a directory");
    }
    throw_io("cannot open directory", path, err);
}

std::vector<std::string> components(std::string_view relative) {
    std::vector<std::string> parts;
    while (!relative.empty()) {
        std::size_t slash = relative.find('/');
        std::string part(relative.substr(0, slash));
        if (part.empty() || part == "." || part == "..") {
            throw Error(ErrorCode::kInternal,
                        "bad spool directory \"" + std::string(relative) + "\"");
        }
        parts.push_back(std::move(part));
        relative =
            slash == std::string_view::npos ? std::string_view() : relative.substr(slash + 1);
    }
    return parts;
}

}  // namespace

UniqueFd open_spool_dir(const std::string& root, std::string_view relative, bool create) {
    if (root.empty() || root[0] != '/') {
        throw Error(ErrorCode::kConfig, "spool \"" + root + "\" must be an absolute path");
    }
    std::string path = fs::path(root).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    std::string parent = fs::path(path).parent_path().string();
    if (fs::path(path).filename().empty()) {
        throw Error(ErrorCode::kConfig, "spool \"" + root + "\" must not be the root directory");
    }
    UniqueFd at(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!at && errno == ENOENT && create) {
        make_spool_dirs(parent);
        at.reset(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    if (!at) {
        if (errno == ENOENT && !create) return {};
        throw_io("cannot open directory", parent, errno);
    }
    std::vector<std::string> parts = components(relative);
    parts.insert(parts.begin(), fs::path(path).filename().string());
    path = parent == "/" ? "" : parent;
    for (const std::string& part : parts) {
        path += "/" + part;
        UniqueFd fd(open_dir_at(at.get(), part, path));
        if (!fd) {
            if (!create) return {};
            if (::mkdirat(at.get(), part.c_str(), 0700) != 0 && errno != EEXIST) {
                throw_io("cannot create", path, errno);
            }
            fsync_fd(at.get(), path, "cannot fsync directory of");
            fd.reset(open_dir_at(at.get(), part, path));
            if (!fd) throw_io("cannot open directory", path, errno);
        }
        check_own_dir(fd.get(), path, &part != &parts.front());
        at = std::move(fd);
    }
    return at;
}

void make_spool_dirs(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw Error(ErrorCode::kIo, "\"" + dir + "\" is not a directory");
        return;
    }
    std::string parent = fs::path(dir).parent_path().string();
    if (parent.empty()) parent = "/";
    if (parent != dir) make_spool_dirs(parent);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_io("cannot create", dir, errno);
    fsync_dir(parent);
}

void check_spool_outside_data_dir(const std::string& spool, const std::string& wal_path) {
    std::error_code ec;
    fs::path wal_dir = fs::absolute(fs::path(wal_path), ec).lexically_normal().parent_path();
    if (ec || wal_path.empty() || wal_dir.filename() != "pg_wal") return;
    fs::path data_dir = fs::weakly_canonical(wal_dir.parent_path(), ec);
    if (ec) return;
    fs::path spool_dir = fs::weakly_canonical(fs::path(spool), ec);
    if (ec) return;
    auto rel = spool_dir.lexically_relative(data_dir);
    if (!rel.empty() && *rel.begin() != "..") {
        throw Error(ErrorCode::kConfig, "spool \"" + spool + "\" is inside the data directory \"" +
                                            data_dir.string() +
                                            "\"; set `spool` to a directory outside PGDATA");
    }
}

}  // namespace walferry
