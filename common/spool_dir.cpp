#include "spool_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "error.h"
#include "unique_fd.h"

namespace walferry {

namespace fs = std::filesystem;

void fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_io("cannot open directory", dir, errno);
    if (::fsync(fd.get()) != 0) throw_io("cannot fsync directory", dir, errno);
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
