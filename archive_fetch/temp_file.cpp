#include "archive_fetch/temp_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>

#include "base/error.h"

namespace walferry {

namespace {

constexpr std::string_view kTempInfix = ".walferry-tmp.";
constexpr std::size_t kRandomLength = 6;  // mkstemp's XXXXXX
constexpr int kCleanupSignals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP};

// What the signal handler removes: fixed storage, written only with the signals blocked, read by
// the handler with nothing but async-signal-safe calls. A call has one temp file at a time (the
// prefetch worker too); a few slots leave room for one inside another.
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

// Checked at every temp file (four cheap system calls): a signal's default action is replaced
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

// The cleanup signals blocked for the lifetime of this object: a temp file is created and listed
// for the handler, or renamed and delisted, with no signal in between.
class SignalsBlocked {
  public:
    SignalsBlocked() {
        sigset_t set;
        sigemptyset(&set);
        for (int sig : kCleanupSignals) sigaddset(&set, sig);
        ::sigprocmask(SIG_BLOCK, &set, &old_);
    }
    ~SignalsBlocked() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
    SignalsBlocked(const SignalsBlocked&) = delete;
    SignalsBlocked& operator=(const SignalsBlocked&) = delete;

  private:
    sigset_t old_;
};

int arm(const std::string& path) noexcept {
    if (path.size() >= PATH_MAX) return -1;  // left to remove_stale_temps_next_to
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

void disarm(int slot) noexcept {
    if (slot >= 0) g_slots[slot].armed = 0;
}

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

}  // namespace

bool is_temp_file_name(std::string_view name) noexcept {
    if (name.size() <= kTempInfix.size() + kRandomLength) return false;  // a target name first
    std::string_view random = name.substr(name.size() - kRandomLength);
    std::string_view infix =
        name.substr(name.size() - kRandomLength - kTempInfix.size(), kTempInfix.size());
    return infix == kTempInfix && std::all_of(random.begin(), random.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
           });
}

TempFile::TempFile(const std::string& target)
    : dir_fd_(AT_FDCWD), path_(target + ".walferry-tmp.XXXXXX") {
    SignalsBlocked blocked;
    fd_.reset(::mkostemp(path_.data(), O_CLOEXEC));
    if (!fd_) throw_io("cannot create temporary file", path_, errno);
    where_ = path_;
    slot_ = arm(path_);
}

// Not in the signal handler's list: its name is relative to a directory fd the handler cannot
// use. Only the detached prefetch worker writes these, in its spool, and the next worker removes
// what a killed one left there (PrefetchSpool::remove_leftovers).
TempFile::TempFile(int dir_fd, const std::string& target, const std::string& where)
    : dir_fd_(dir_fd) {
    std::random_device random;
    for (int attempt = 0; !fd_; ++attempt) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "%06x", random() & 0xFFFFFF);
        path_ = target + ".walferry-tmp." + suffix;
        where_ = where + "/" + path_;
        fd_.reset(::openat(dir_fd_, path_.c_str(),
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd_ && (errno != EEXIST || attempt > 100)) {
            throw_io("cannot create temporary file", where_, errno);
        }
    }
}

TempFile::~TempFile() {
    if (committed_) return;
    SignalsBlocked blocked;
    ::unlinkat(dir_fd_, path_.c_str(), 0);
    disarm(slot_);
}

void TempFile::write(std::span<const std::uint8_t> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("cannot write", where_, errno);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
}

void TempFile::sync() {
    if (::fsync(fd_.get()) != 0) throw_io("cannot fsync", where_, errno);
}

void TempFile::commit(const std::string& target) {
    if (::close(fd_.release()) != 0) throw_io("cannot write", where_, errno);
    SignalsBlocked blocked;
    if (::renameat(dir_fd_, path_.c_str(), dir_fd_, target.c_str()) != 0) {
        throw_io("cannot rename to", target, errno);
    }
    disarm(slot_);
    committed_ = true;
}

void remove_stale_temps_next_to(const std::string& target) noexcept {
    const std::size_t slash = target.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash + 1);
    UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) return;
    UniqueFd copy(::fcntl(dirfd.get(), F_DUPFD_CLOEXEC, 0));
    std::unique_ptr<DIR, DirCloser> stream(copy ? ::fdopendir(copy.get()) : nullptr);
    if (!stream) return;
    copy.release();  // owned by the DIR now
    const std::time_t now = std::time(nullptr);
    const uid_t me = ::geteuid();
    while (const dirent* entry = ::readdir(stream.get())) {
        if (!is_temp_file_name(entry->d_name)) continue;
        struct stat st {};
        if (::fstatat(dirfd.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (!S_ISREG(st.st_mode) || st.st_uid != me) continue;
        if (now - st.st_mtime < kStaleTempMinutes * 60) continue;  // perhaps a live call's
        ::unlinkat(dirfd.get(), entry->d_name, 0);
    }
}

}  // namespace walferry
