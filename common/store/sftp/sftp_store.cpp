#include "store/sftp/sftp_store.h"

#include <algorithm>
#include <ctime>
#include <random>

#include "base/error.h"
#include "base/escape.h"
#include "store/file_store.h"
#include "store/sftp/sftp_consumer_store.h"
#include "store/sftp/ssh_session.h"

namespace walferry {

namespace {

constexpr std::size_t kMaxFileName = 255;
constexpr std::size_t kRandomDigits = 16;
// Big reads and writes let libssh2 keep many SFTP requests in flight.
constexpr std::size_t kReadChunk = std::size_t{256} * 1024;
constexpr std::size_t kWriteChunk = std::size_t{1024} * 1024;
// Same rule as FileStore: a temp file untouched this long belongs to a dead writer.
constexpr std::int64_t kStaleTempSeconds = std::int64_t{15} * 60;

bool is_regular(const LIBSSH2_SFTP_ATTRIBUTES& attrs) {
    return !(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
           LIBSSH2_SFTP_S_ISREG(attrs.permissions);
}

std::uint64_t random_u64() {
    std::random_device device;  // getrandom(2) on Linux
    return std::uint64_t{device()} << 32 | device();
}

// The temp file of a put(): removed on destruction unless published, and if the connection
// still works (a broken one cannot remove anything; the next put of the same name will).
class RemoteTemp {
  public:
    RemoteTemp(SshSession& ssh, std::string path) : ssh_(ssh), path_(std::move(path)) {}
    ~RemoteTemp() {
        if (path_.empty() || ssh_.broken()) return;
        libssh2_sftp_unlink_ex(ssh_.sftp(), path_.c_str(), static_cast<unsigned int>(path_.size()));
    }
    RemoteTemp(const RemoteTemp&) = delete;
    RemoteTemp& operator=(const RemoteTemp&) = delete;
    void published() noexcept { path_.clear(); }

  private:
    SshSession& ssh_;
    std::string path_;
};

// An open remote file checked to be a regular file, or an empty handle if it does not exist.
SftpHandle open_for_reading(SshSession& ssh, const std::string& path, const std::string& url,
                            LIBSSH2_SFTP_ATTRIBUTES& attrs) {
    SftpHandle file = sftp_open(ssh, path, LIBSSH2_FXF_READ, 0);
    if (!file) {
        if (ssh.sftp_status() == LIBSSH2_FX_NO_SUCH_FILE) return file;
        ssh.fail("cannot open", url);
    }
    if (libssh2_sftp_fstat_ex(file.get(), &attrs, 0) != 0) ssh.fail("cannot stat", url);
    if (!is_regular(attrs)) throw Error(ErrorCode::kIo, "\"" + url + "\" is not a regular file");
    return file;
}

// Calls fn(name, attrs) for every entry of the remote directory `path`. A missing directory is
// Error(kIo), or nothing to list with `missing_ok`.
template <typename Fn>
void for_each_entry(SshSession& ssh, const std::string& path, const std::string& url, Fn fn,
                    bool missing_ok = false) {
    SftpHandle dir = sftp_open(ssh, path, 0, 0, LIBSSH2_SFTP_OPENDIR);
    if (!dir) {
        if (ssh.sftp_status() == LIBSSH2_FX_NO_SUCH_FILE) {
            if (missing_ok) return;
            throw Error(ErrorCode::kIo, "archive directory \"" + url + "\" does not exist");
        }
        ssh.fail("cannot read archive directory", url);
    }
    char name[512];
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        int n = libssh2_sftp_readdir_ex(dir.get(), name, sizeof name, nullptr, 0, &attrs);
        if (n < 0) ssh.fail("cannot read archive directory", url);
        if (n == 0) return;
        fn(std::string_view(name, static_cast<std::size_t>(n)), attrs);
    }
}

}  // namespace

SftpStore::SftpStore(Destination destination) : destination_(std::move(destination)) {
    if (destination_.location.scheme != Location::Scheme::kSftp) {
        throw Error(ErrorCode::kInternal, "SftpStore for " + destination_.location.url());
    }
}

SftpStore::~SftpStore() = default;

std::string SftpStore::describe() const {
    return destination_.location.url();
}

SshSession& SftpStore::connected() {
    if (session_ && !session_->broken()) return *session_;
    session_.reset();
    const Location& loc = destination_.location;
    SshOptions options;
    options.user = loc.user;
    options.host = loc.host;
    options.port = loc.port;
    options.identity = destination_.identity;
    options.known_hosts = destination_.known_hosts;
    options.accept_new_host_keys = destination_.accept_new_host_keys;
    options.connect_timeout_ms = destination_.connect_timeout_s * 1000;
    options.io_timeout_ms = destination_.io_timeout_s * 1000;
    session_ = std::make_unique<SshSession>(options);
    return *session_;
}

std::string SftpStore::remote_path(std::string_view name) const {
    const std::string& dir = destination_.location.path;
    return (dir == "/" ? "" : dir) + "/" + std::string(name);
}

std::string SftpStore::url_of(std::string_view name) const {
    std::string url = describe();
    return (url.ends_with('/') ? url : url + "/") + std::string(name);
}

bool SftpStore::put(std::string_view name_view, ByteParts parts) {
    check_object_name(name_view);
    const std::string name(name_view);
    SshSession& ssh = connected();
    remove_dead_temps(ssh, name);

    const std::string temp_name = std::string(kTempDir) + "/" + sftp_temp_name(name, random_u64());
    const std::string temp_path = remote_path(temp_name);
    const std::string temp_url = url_of(temp_name);
    SftpHandle file = create_temp(ssh, temp_path);
    RemoteTemp temp(ssh, temp_path);
    for (const auto& part : parts) {
        std::span<const std::uint8_t> rest = part;
        while (!rest.empty()) {
            ssize_t n = libssh2_sftp_write(file.get(), reinterpret_cast<const char*>(rest.data()),
                                           std::min(rest.size(), kWriteChunk));
            if (n < 0) ssh.fail("cannot write", temp_url);
            rest = rest.subspan(static_cast<std::size_t>(n));
        }
    }
    fsync_file(ssh, file, name, temp_url);
    file.close(temp_url);

    // Plain SSH_FXP_RENAME (SFTP v3 carries no flags): OpenSSH links, so it never replaces.
    const std::string final_path = remote_path(name);
    if (libssh2_sftp_rename_ex(ssh.sftp(), temp_path.c_str(),
                               static_cast<unsigned int>(temp_path.size()), final_path.c_str(),
                               static_cast<unsigned int>(final_path.size()), 0) != 0) {
        const long status = ssh.sftp_status();
        if (status < 0) ssh.fail("cannot rename temporary file to", url_of(name));
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        if (libssh2_sftp_stat_ex(ssh.sftp(), final_path.c_str(),
                                 static_cast<unsigned int>(final_path.size()), LIBSSH2_SFTP_LSTAT,
                                 &attrs) == 0) {
            return false;  // the name exists: never replaced; the temp goes with `temp`
        }
        throw Error(ErrorCode::kIo, "cannot rename temporary file to \"" + url_of(name) +
                                        "\": " + sftp_status_text(status));
    }
    temp.published();
    if (destination_.remote_sync) sync_directory(ssh);
    return true;
}

void SftpStore::fsync_file(SshSession& ssh, const SftpHandle& file, std::string_view name,
                           const std::string& url) {
    if (libssh2_sftp_fsync(file.get()) == 0) return;
    if (ssh.sftp_status() == LIBSSH2_FX_OP_UNSUPPORTED) {
        throw Error(ErrorCode::kUnsupported, "cannot store \"" + url_of(name) +
                                                 "\" durably: the server does not support "
                                                 "fsync@openssh.com");
    }
    ssh.fail("cannot fsync", url);
}

void SftpStore::sync(std::string_view name) {
    check_object_name(name);
    SshSession& ssh = connected();
    const std::string url = url_of(name);
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    SftpHandle file = open_for_reading(ssh, remote_path(name), url, attrs);
    if (!file) throw Error(ErrorCode::kIo, "\"" + url + "\" vanished before it was synced");
    fsync_file(ssh, file, name, url);
    file.close(url);
    if (destination_.remote_sync) sync_directory(ssh);
}

struct SftpStore::OpenedObject {
    SshSession& ssh;
    std::string url;
    LIBSSH2_SFTP_ATTRIBUTES attrs;
    SftpHandle file;  // empty: no such object in an archive directory that is there
};

SftpStore::OpenedObject SftpStore::open_object(std::string_view name) {
    check_object_name(name);
    SshSession& ssh = connected();
    std::string url = url_of(name);
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    SftpHandle file = open_for_reading(ssh, remote_path(name), url, attrs);
    if (!file) check_archive_directory(ssh);
    return OpenedObject{ssh, std::move(url), attrs, std::move(file)};
}

std::optional<ObjectStat> SftpStore::stat(std::string_view name, std::size_t head_bytes) {
    auto [ssh, url, attrs, file] = open_object(name);
    if (!file) return std::nullopt;
    ObjectStat out;
    out.size = attrs.flags & LIBSSH2_SFTP_ATTR_SIZE ? attrs.filesize : 0;
    out.mtime =
        attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? static_cast<std::int64_t>(attrs.mtime) : 0;
    out.head.resize(static_cast<std::size_t>(std::min<std::uint64_t>(out.size, head_bytes)));
    std::size_t got = 0;
    while (got < out.head.size()) {
        ssize_t n = libssh2_sftp_read(file.get(), reinterpret_cast<char*>(out.head.data() + got),
                                      out.head.size() - got);
        if (n < 0) ssh.fail("cannot read", url);
        if (n == 0) break;  // shrank since fstat: report what is there
        got += static_cast<std::size_t>(n);
    }
    out.head.resize(got);
    return out;
}

bool SftpStore::get(std::string_view name, const ByteSink& sink) {
    auto [ssh, url, attrs, file] = open_object(name);
    if (!file) return false;
    std::vector<std::uint8_t> buf(kReadChunk);
    for (;;) {
        ssize_t n = libssh2_sftp_read(file.get(), reinterpret_cast<char*>(buf.data()), buf.size());
        if (n < 0) ssh.fail("cannot read", url);
        if (n == 0) return true;
        sink(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    }
}

std::vector<std::string> SftpStore::list() {
    std::vector<std::string> names;
    for (ListedFile& f : list_files()) names.push_back(std::move(f.name));
    return names;
}

// readdir's attributes carry size and mtime: one listing, no stat per file (but for links).
std::vector<ListedFile> SftpStore::list_files() {
    SshSession& ssh = connected();
    const std::string& dir = destination_.location.path;
    std::vector<ListedFile> files;
    for_each_entry(
        ssh, dir, describe(), [&](std::string_view name, const LIBSSH2_SFTP_ATTRIBUTES& a) {
            if (name.empty() || name.front() == '.') return;  // ".", "..", temp files, hidden
            LIBSSH2_SFTP_ATTRIBUTES attrs = a;
            bool regular =
                (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISREG(a.permissions);
            if ((a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISLNK(a.permissions)) {
                const std::string path = remote_path(name);
                regular = libssh2_sftp_stat_ex(ssh.sftp(), path.c_str(),
                                               static_cast<unsigned int>(path.size()),
                                               LIBSSH2_SFTP_STAT, &attrs) == 0 &&
                          is_regular(attrs);
            }
            if (!regular) return;
            files.push_back(ListedFile{
                std::string(name), attrs.flags & LIBSSH2_SFTP_ATTR_SIZE ? attrs.filesize : 0,
                attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? static_cast<std::int64_t>(attrs.mtime)
                                                          : 0});
        });
    std::sort(files.begin(), files.end(),
              [](const ListedFile& x, const ListedFile& y) { return x.name < y.name; });
    return files;
}

bool SftpStore::remove(std::string_view name) {
    check_object_name(name);
    SshSession& ssh = connected();
    const std::string path = remote_path(name);
    if (libssh2_sftp_unlink_ex(ssh.sftp(), path.c_str(), static_cast<unsigned int>(path.size())) ==
        0) {
        return true;
    }
    if (ssh.sftp_status() == LIBSSH2_FX_NO_SUCH_FILE) {
        check_archive_directory(ssh);
        return false;
    }
    ssh.fail("cannot remove", url_of(name));
}

// The temp file `path` in the archive's kTempDir, that directory made by the first put.
SftpHandle SftpStore::create_temp(SshSession& ssh, const std::string& path) {
    const unsigned long flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL;
    {
        SftpHandle file = sftp_open(ssh, path, flags, 0640);
        if (file || ssh.sftp_status() != LIBSSH2_FX_NO_SUCH_FILE)
            return file_or_fail(ssh, std::move(file));
    }
    const std::string dir = remote_path(kTempDir);
    if (libssh2_sftp_mkdir_ex(ssh.sftp(), dir.c_str(), static_cast<unsigned int>(dir.size()),
                              0750) != 0) {
        // SFTP v3 has no "exists" status: made by another pusher meanwhile, the open tells.
        const long status = ssh.sftp_status();
        if (status < 0) ssh.fail("cannot create a temporary file in archive directory", describe());
        if (status == LIBSSH2_FX_NO_SUCH_FILE) check_archive_directory(ssh);
        SftpHandle file = sftp_open(ssh, path, flags, 0640);
        if (file || ssh.sftp_status() != LIBSSH2_FX_NO_SUCH_FILE)
            return file_or_fail(ssh, std::move(file));
        throw Error(ErrorCode::kIo, "cannot create a temporary file in archive directory \"" +
                                        describe() + "\": " + sftp_status_text(status));
    }
    return file_or_fail(ssh, sftp_open(ssh, path, flags, 0640));
}

SftpHandle SftpStore::file_or_fail(SshSession& ssh, SftpHandle file) {
    if (!file) ssh.fail("cannot create a temporary file in archive directory", describe());
    return file;
}

// SFTP answers "no such file" alike for a missing file and for a missing directory above it (a
// typo in the URL, a remote file system not mounted): only the first is "not there".
void SftpStore::check_archive_directory(SshSession& ssh) {
    const std::string& dir = destination_.location.path;
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    if (libssh2_sftp_stat_ex(ssh.sftp(), dir.c_str(), static_cast<unsigned int>(dir.size()),
                             LIBSSH2_SFTP_STAT, &attrs) != 0) {
        if (ssh.sftp_status() == LIBSSH2_FX_NO_SUCH_FILE) {
            throw Error(ErrorCode::kIo, "archive directory \"" + describe() + "\" does not exist");
        }
        ssh.fail("cannot stat archive directory", describe());
    }
    if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && !LIBSSH2_SFTP_S_ISDIR(attrs.permissions)) {
        throw Error(ErrorCode::kIo, "archive directory \"" + describe() + "\" is not a directory");
    }
}

// Temp files left by a writer that died or lost its connection: those of `name` (PostgreSQL
// pushes one name at a time, so another one is a dead attempt; should a concurrent pusher of the
// same name lose its temp, its rename fails and PostgreSQL retries) and any older than
// kStaleTempSeconds. Once per session: a directory listing costs round trips. Only kTempDir is
// listed, never the archive's segments.
void SftpStore::remove_dead_temps(SshSession& ssh, const std::string& name) {
    if (swept_) return;
    swept_ = true;
    const std::int64_t now = std::time(nullptr);
    std::vector<std::string> dead;
    const std::string temp_dir = remote_path(kTempDir);
    for_each_entry(
        ssh, temp_dir, url_of(kTempDir),
        [&](std::string_view entry, const LIBSSH2_SFTP_ATTRIBUTES& a) {
            if (!entry.starts_with(kTempPrefix) || !is_regular(a)) return;
            bool stale = (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) &&
                         now - static_cast<std::int64_t>(a.mtime) >= kStaleTempSeconds;
            if (stale || is_temp_of(entry, name)) dead.emplace_back(entry);
        },
        true);
    for (const std::string& entry : dead) {
        const std::string path = temp_dir + "/" + entry;
        // Failing to remove litter must not fail the push; another pusher may have won.
        libssh2_sftp_unlink_ex(ssh.sftp(), path.c_str(), static_cast<unsigned int>(path.size()));
    }
}

void SftpStore::sync_directory(SshSession& ssh) {
    std::string output;
    const std::string command = "sync -- " + shell_quote(destination_.location.path);
    int status = ssh.run(command, output);
    if (status == 0) return;
    std::string first_line = output.substr(0, output.find('\n'));
    throw Error(ErrorCode::kIo, "remote_sync: \"" + command + "\" on " + ssh.who() +
                                    " failed with exit status " + std::to_string(status) +
                                    (first_line.empty() ? "" : ": " + escape_bytes(first_line)));
}

std::string sftp_temp_name(std::string_view name, std::uint64_t random) {
    const std::size_t room = kMaxFileName - kTempPrefix.size() - 1 - kRandomDigits;
    std::string out = std::string(kTempPrefix) + std::string(name.substr(0, room)) + ".";
    static constexpr char kDigits[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kDigits[(random >> shift) & 0xf]);
    return out;
}

bool is_temp_of(std::string_view entry, std::string_view name) {
    const std::string stem = sftp_temp_name(name, 0);
    const std::string_view prefix = std::string_view(stem).substr(0, stem.size() - kRandomDigits);
    if (entry.size() != stem.size() || !entry.starts_with(prefix)) return false;
    return std::all_of(entry.begin() + static_cast<std::ptrdiff_t>(prefix.size()), entry.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::unique_ptr<ConsumerStore> SftpStore::consumers(ConsumerAccess access, int lock_wait_s) {
    return std::make_unique<SftpConsumerStore>(*this, access, lock_wait_s);
}

}  // namespace walferry
