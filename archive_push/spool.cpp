#include "spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "error.h"
#include "file_store.h"
#include "sha256.h"
#include "unique_fd.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxKey = 200;

void fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_io("cannot open directory", dir, errno);
    if (::fsync(fd.get()) != 0) throw_io("cannot fsync directory", dir, errno);
}

// mkdir -p with mode 0700; each directory made is synced into its parent.
void make_dirs(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw Error(ErrorCode::kIo, "\"" + dir + "\" is not a directory");
        return;
    }
    std::string parent = fs::path(dir).parent_path().string();
    if (parent.empty()) parent = "/";
    if (parent != dir) make_dirs(parent);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw_io("cannot create", dir, errno);
    fsync_dir(parent);
}

bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string destination_key(const std::string& name) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string key;
    for (unsigned char c : name) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-') {
            key += static_cast<char>(c);
        } else {
            key += '%';
            key += kHex[c >> 4];
            key += kHex[c & 15];
        }
    }
    if (key.empty() || key.size() > kMaxKey) {
        auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
        key = "sha256-" + to_hex(sha256(bytes));
    }
    return key;
}

Spool::Spool(std::string dir) : dir_(std::move(dir)) {
    if (dir_.empty() || dir_[0] != '/') {
        throw Error(ErrorCode::kConfig, "spool \"" + dir_ + "\" must be an absolute path");
    }
}

void Spool::check_outside_data_dir(const std::string& wal_path) const {
    std::error_code ec;
    fs::path wal_dir = fs::absolute(fs::path(wal_path), ec).lexically_normal().parent_path();
    if (ec || wal_path.empty() || wal_dir.filename() != "pg_wal") return;
    fs::path data_dir = fs::weakly_canonical(wal_dir.parent_path(), ec);
    if (ec) return;
    fs::path spool = fs::weakly_canonical(fs::path(dir_), ec);
    if (ec) return;
    auto rel = spool.lexically_relative(data_dir);
    if (!rel.empty() && *rel.begin() != "..") {
        throw Error(ErrorCode::kConfig, "spool \"" + dir_ + "\" is inside the data directory \"" +
                                            data_dir.string() +
                                            "\"; set `spool` to a directory outside PGDATA");
    }
}

std::unique_ptr<Store> Spool::backlog(const std::string& name, bool create) const {
    std::string dir = dir_ + "/backlog/" + destination_key(name);
    if (create)
        make_dirs(dir);
    else if (!is_dir(dir))
        return nullptr;
    return std::make_unique<FileStore>(dir);
}

std::vector<std::string> Spool::backlog_keys() const {
    std::vector<std::string> keys;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/backlog", ec)) {
        if (e.is_directory()) keys.push_back(e.path().filename().string());
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
    std::string dir = dir_ + "/batch";
    if (create)
        make_dirs(dir);
    else if (!is_dir(dir))
        return nullptr;
    return std::make_unique<FileStore>(dir);
}

}  // namespace walferry
