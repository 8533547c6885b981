#include "base/durable_file.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "base/error.h"

namespace walferry {

namespace {

constexpr int kCreateAttempts = 100;
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;

// One read(), or pread() at `offset` >= 0.
std::size_t read_some(int fd, std::uint8_t* buf, std::size_t len, off_t offset,
                      const std::string& path, std::string_view what) {
    ssize_t n = retry_eintr(
        [&] { return offset < 0 ? ::read(fd, buf, len) : ::pread(fd, buf, len, offset); });
    if (n < 0) throw_io(what, path, errno);
    return static_cast<std::size_t>(n);
}

std::size_t read_until_full(int fd, std::span<std::uint8_t> buf, off_t offset,
                            const std::string& path) {
    std::size_t got = 0;
    while (got < buf.size()) {
        std::size_t n =
            read_some(fd, buf.data() + got, buf.size() - got,
                      offset < 0 ? -1 : offset + static_cast<off_t>(got), path, "cannot read");
        if (n == 0) break;
        got += n;
    }
    return got;
}

// --- What the signal handler removes -------------------------------------------------------

constexpr int kCleanupSignals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};

// Fixed storage, written only with the signals blocked, read by the handler with nothing but
// async-signal-safe calls. A call has one such file at a time; a few slots leave room for one
// inside another.
struct Slot {
    char path[PATH_MAX];
    volatile sig_atomic_t armed;
};
constexpr int kSlots = 4;
Slot g_slots[kSlots];

extern "C" void unlink_and_reraise(int sig) {
    const int saved = errno;
    for (Slot& slot : g_slots) {
        if (slot.armed) ::unlink(slot.path);
    }
    errno = saved;
    // SA_RESETHAND restored the default action; delivered when the handler returns.
    ::raise(sig);
}

// Checked at every such file (four cheap system calls): a signal's default action is replaced
// (again, after SA_RESETHAND or in a forked child that reset it), another handler or an ignored
// signal left alone.
void install_handlers() {
    for (int sig : kCleanupSignals) {
        struct sigaction old {};
        if (::sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;
        struct sigaction action {};
        action.sa_handler = unlink_and_reraise;
        action.sa_flags = SA_RESETHAND;
        sigfillset(&action.sa_mask);
        ::sigaction(sig, &action, nullptr);
    }
}

// The cleanup signals blocked for the lifetime of this object (if `block`): a file is created
// and listed for the handler, or renamed or unlinked and delisted, with no signal in between.
class SignalsBlocked {
  public:
    explicit SignalsBlocked(bool block) : blocked_(block) {
        if (!blocked_) return;
        sigset_t set;
        sigemptyset(&set);
        for (int sig : kCleanupSignals) sigaddset(&set, sig);
        ::sigprocmask(SIG_BLOCK, &set, &old_);
    }
    ~SignalsBlocked() {
        if (blocked_) ::sigprocmask(SIG_SETMASK, &old_, nullptr);
    }
    SignalsBlocked(const SignalsBlocked&) = delete;
    SignalsBlocked& operator=(const SignalsBlocked&) = delete;

  private:
    bool blocked_;
    sigset_t old_{};
};

int arm(const std::string& path) noexcept {
    if (path.size() >= PATH_MAX) return -1;  // left to the stale temp sweeps
    install_handlers();
    for (int i = 0; i < kSlots; ++i) {
        if (g_slots[i].armed) continue;
        std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
        std::atomic_signal_fence(std::memory_order_seq_cst);
        g_slots[i].armed = 1;
        return i;
    }
    return -1;
}

// --- Temporary names -----------------------------------------------------------------------

std::string random_hex(int digits) {
    unsigned char bytes[16];
    const std::size_t count = std::min(sizeof bytes, static_cast<std::size_t>(digits + 1) / 2);
    if (::getrandom(bytes, count, 0) != static_cast<ssize_t>(count)) {
        // Uniqueness, not secrecy, is what matters (O_EXCL catches the rest).
        std::uint64_t mix = static_cast<std::uint64_t>(::getpid()) << 32 ^
                            static_cast<std::uint64_t>(std::time(nullptr)) ^
                            reinterpret_cast<std::uintptr_t>(&bytes);
        for (auto& b : bytes) b = static_cast<unsigned char>(mix >>= 5);
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0x0f]);
    }
    out.resize(static_cast<std::size_t>(digits));
    return out;
}

bool link_unsupported(int err) {
    return err == EPERM || err == EOPNOTSUPP || err == ENOTSUP || err == EXDEV || err == ENOSYS;
}

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

}  // namespace

void write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& path,
               std::string_view what) {
    while (!bytes.empty()) {
        ssize_t n = retry_eintr([&] { return ::write(fd, bytes.data(), bytes.size()); });
        if (n < 0) throw_io(what, path, errno);
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void write_all(int fd, std::string_view text, const std::string& path, std::string_view what) {
    write_all(fd, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, path, what);
}

std::size_t read_full(int fd, std::span<std::uint8_t> buf, const std::string& path) {
    return read_until_full(fd, buf, -1, path);
}

std::size_t pread_full(int fd, std::span<std::uint8_t> buf, off_t offset, const std::string& path) {
    return read_until_full(fd, buf, offset, path);
}

std::string read_all(int fd, const std::string& path, std::size_t max_bytes,
                     std::string_view what) {
    const std::size_t limit = max_bytes == kUnbounded ? kUnbounded : max_bytes + 1;
    std::string out;
    std::uint8_t buf[kReadChunk];
    while (out.size() < limit) {
        std::size_t n =
            read_some(fd, buf, std::min(sizeof buf, limit - out.size()), -1, path, what);
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(buf), n);
    }
    return out;
}

void fsync_fd(int fd, const std::string& path, std::string_view what) {
    if (::fsync(fd) != 0) throw_io(what, path, errno);
}

void fsync_dir(int dir_fd, const std::string& dir) {
    fsync_fd(dir_fd, dir, "cannot fsync directory");
}

void fsync_dir(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_io("cannot open directory", dir, errno);
    fsync_dir(fd.get(), dir);
}

std::vector<DirEntry> list_dir(int dir_fd, const std::string& dir, std::string_view what) {
    // A new open file description: its own offset, so `dir_fd` is read by nobody else.
    UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_io(what, dir, errno);
    std::unique_ptr<DIR, DirCloser> stream(::fdopendir(fd.get()));
    if (!stream) throw_io(what, dir, errno);
    fd.release();  // owned by the DIR now
    std::vector<DirEntry> entries;
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(stream.get());
        if (entry == nullptr) {
            if (errno != 0) throw_io(what, dir, errno);
            return entries;
        }
        if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
        entries.push_back({entry->d_name, entry->d_type});
    }
}

std::string join_path(const std::string& dir, std::string_view name) {
    if (dir.empty()) return std::string(name);
    return dir == "/" ? "/" + std::string(name) : dir + "/" + std::string(name);
}

TempFile::TempFile(int dir_fd, std::string dir, const TempName& name)
    : dir_fd_(dir_fd), dir_(std::move(dir)) {
    const bool on_signal = name.remove_on_signal && dir_fd == AT_FDCWD;
    SignalsBlocked blocked(on_signal);
    const int flags =
        O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (name.random_digits > 0 ? O_EXCL : O_TRUNC);
    for (int attempt = 0;; ++attempt) {
        name_ = name.stem + random_hex(name.random_digits);
        path_ = join_path(dir_, name_);
        fd_.reset(::openat(dir_fd_, name_.c_str(), flags, name.mode));
        if (fd_) break;
        const int err = errno;
        if (err != EEXIST || name.random_digits == 0 || attempt + 1 == kCreateAttempts) {
            name_.clear();
            throw_io("cannot create temporary file", path_, err);
        }
    }
    if (on_signal) slot_ = arm(name_);
}

TempFile::~TempFile() {
    if (name_.empty()) return;
    SignalsBlocked blocked(slot_ >= 0);
    ::unlinkat(dir_fd_, name_.c_str(), 0);
    forget();
}

void TempFile::forget() noexcept {
    if (slot_ >= 0) g_slots[slot_].armed = 0;
    slot_ = -1;
    name_.clear();
}

void TempFile::write(std::span<const std::uint8_t> bytes) {
    write_all(fd_.get(), bytes, path_);
}

void TempFile::write(std::string_view text) {
    write_all(fd_.get(), text, path_);
}

void TempFile::sync() {
    fsync_fd(fd_.get(), path_);
}

bool TempFile::publish(const std::string& name, Publish mode) {
    return publish_in(dir_fd_, dir_, name, mode);
}

bool TempFile::publish_in(int target_dir_fd, const std::string& target_dir, const std::string& name,
                          Publish mode) {
    if (::close(fd_.release()) != 0) throw_io("cannot write", path_, errno);
    const std::string target = join_path(target_dir, name);
    SignalsBlocked blocked(slot_ >= 0);
    if (mode == Publish::kReplace) {
        if (::renameat(dir_fd_, name_.c_str(), target_dir_fd, name.c_str()) != 0) {
            throw_io("cannot rename to", target, errno);
        }
        forget();
        return true;
    }
    if (::linkat(dir_fd_, name_.c_str(), target_dir_fd, name.c_str(), 0) == 0) {
        if (::unlinkat(dir_fd_, name_.c_str(), 0) != 0 && errno != ENOENT) {
            throw_io("cannot remove temporary file", path_, errno);
        }
        forget();
        return true;
    }
    int err = errno;
    if (err == EEXIST) return false;
    if (!link_unsupported(err)) throw_io("cannot link temporary file to", target, err);
    // Some file systems (vfat, several FUSE ones) have no hard links but can rename atomically.
    if (::renameat2(dir_fd_, name_.c_str(), target_dir_fd, name.c_str(), RENAME_NOREPLACE) == 0) {
        forget();
        return true;
    }
    err = errno;
    if (err == EEXIST) return false;
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
        throw Error(ErrorCode::kUnsupported,
                    "cannot publish \"" + target +
                        "\" safely: the file system supports neither link() nor "
                        "renameat2(RENAME_NOREPLACE), so an existing file could be replaced");
    }
    throw_io("cannot rename temporary file to", target, err);
}

bool write_file_durably(int dir_fd, const std::string& dir, const std::string& name,
                        const TempName& temp_name, std::string_view text, Publish mode) {
    TempFile temp(dir_fd, dir, temp_name);
    temp.write(text);
    temp.sync();
    if (!temp.publish(name, mode)) return false;
    fsync_dir(dir_fd, dir);
    return true;
}

void remove_stale_temps(int dir_fd, const std::function<bool(std::string_view)>& is_temp,
                        std::time_t stale_seconds, bool own_only) noexcept {
    try {
        const std::time_t now = std::time(nullptr);
        const uid_t me = ::geteuid();
        for (const DirEntry& entry : list_dir(dir_fd, "")) {
            if (!is_temp(entry.name)) continue;
            struct stat st {};
            if (::fstatat(dir_fd, entry.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            if (!S_ISREG(st.st_mode) || (own_only && st.st_uid != me)) continue;
            if (now - st.st_mtime < stale_seconds) continue;  // perhaps a live writer's
            // ENOENT: another sweep (or the writer) removed it first.
            ::unlinkat(dir_fd, entry.name.c_str(), 0);
        }
    } catch (...) {
        // An unreadable directory, or out of memory: the litter stays for the next sweep.
    }
}

}  // namespace walferry
