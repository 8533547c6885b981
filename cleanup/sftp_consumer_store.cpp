#include "cleanup/sftp_consumer_store.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>

#include "base/error.h"
#include "base/escape.h"
#include "store/sftp/sftp_files.h"
#include "store/sftp/sftp_store.h"
#include "store/sftp/ssh_session.h"

namespace walferry {

namespace {

constexpr long kDirMode = 0750;
constexpr long kFileMode = 0640;
constexpr auto kLockPoll = std::chrono::milliseconds(500);

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

std::string utc_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    char buf[32];
    if (!::gmtime_r(&tt, &tm) ||
        std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        return std::to_string(t);
    }
    return buf;
}

}  // namespace

std::string describe_lock_holder(std::string_view content) {
    std::string host, pid, time;
    while (!content.empty()) {
        std::string_view line = content.substr(0, content.find('\n'));
        content.remove_prefix(std::min(content.size(), line.size() + 1));
        if (line.starts_with("host=")) host = escape_bytes(line.substr(5), 80);
        if (line.starts_with("pid=")) pid = escape_bytes(line.substr(4), 20);
        if (line.starts_with("time=")) time = escape_bytes(line.substr(5), 20);
    }
    if (host.empty() && pid.empty()) return "an unknown holder";
    std::string out = "host " + (host.empty() ? "?" : host) + ", pid " + (pid.empty() ? "?" : pid);
    std::int64_t t = 0;
    bool numeric = !time.empty() && time.size() < 19 &&
                   time.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) t = std::stoll(time);
    return numeric ? out + ", since " + utc_time(t) : out;
}

std::string lock_holder_record() {
    return "host=" + host_name() + "\npid=" + std::to_string(::getpid()) +
           "\ntime=" + std::to_string(std::time(nullptr)) + "\n";
}

SftpConsumerStore::SftpConsumerStore(SftpStore& archive, bool create, int lock_wait_s)
    : ssh_(archive.session()) {
    const std::string& root = archive.directory();
    state_dir_ = (root == "/" ? "" : root) + "/" + std::string(kCleanupStateDir);
    consumers_dir_ = state_dir_ + "/consumers";
    if (create) {
        sftp_make_dir(ssh_, state_dir_, kDirMode);
        sftp_make_dir(ssh_, consumers_dir_, kDirMode);
    } else if (!sftp_mtime(ssh_, state_dir_)) {
        return;
    }
    has_state_ = true;
    lock(lock_wait_s);
}

SftpConsumerStore::~SftpConsumerStore() {
    if (!locked_ || ssh_.broken()) return;  // a lost connection leaves it: reported as stale
    const std::string path = state_dir_ + "/" + std::string(kSftpLockName);
    libssh2_sftp_unlink_ex(ssh_.sftp(), path.c_str(), static_cast<unsigned int>(path.size()));
}

void SftpConsumerStore::lock(int lock_wait_s) {
    const std::string path = state_dir_ + "/" + std::string(kSftpLockName);
    const std::string url = sftp_url(ssh_, path);
    const std::string mine = lock_holder_record();
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::seconds(lock_wait_s);
    for (;;) {
        if (sftp_create_exclusive(ssh_, path, mine, kFileMode)) {
            locked_ = true;
            return;
        }
        std::optional<std::string> holder = sftp_read_file(ssh_, path, 4096);
        std::optional<std::int64_t> mtime = sftp_mtime(ssh_, path);
        if (!holder || !mtime) continue;  // released meanwhile: try again at once
        const std::int64_t age = std::time(nullptr) - *mtime;
        const std::string who = describe_lock_holder(*holder);
        const std::string how =
            "if no walferry-cleanup of that holder runs any more, remove it "
            "(sftp> rm " +
            path + ") and run again";
        if (age > kStaleLockSeconds) {
            throw Error(ErrorCode::kInvalidState, "cleanup lock \"" + url +
                                                      "\" is stale: held by " + who + " for " +
                                                      std::to_string(age / 60) + " min; " + how);
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            throw Error(ErrorCode::kUnavailable, "cleanup lock \"" + url + "\" is held by " + who +
                                                     "; gave up after " +
                                                     std::to_string(lock_wait_s) + " s; " + how);
        }
        // The whole --lock-wait is waited for: the last sleep ends at the deadline, then one
        // more try.
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(kLockPoll, deadline - now));
    }
}

std::vector<std::string> SftpConsumerStore::entries() {
    std::optional<std::vector<std::string>> names = sftp_list_dir(ssh_, consumers_dir_);
    return names ? *names : std::vector<std::string>{};
}

std::optional<std::string> SftpConsumerStore::read(const std::string& entry,
                                                   std::size_t max_bytes) {
    return sftp_read_file(ssh_, consumers_dir_ + "/" + entry, max_bytes);
}

void SftpConsumerStore::publish(const std::string& temp, const std::string& name,
                                const std::string& text) {
    sftp_replace_file(ssh_, consumers_dir_ + "/" + temp, consumers_dir_ + "/" + name, text,
                      kFileMode);
}

bool SftpConsumerStore::remove(const std::string& entry) {
    return sftp_remove_file(ssh_, consumers_dir_ + "/" + entry);
}

std::string SftpConsumerStore::where(const std::string& entry) const {
    return sftp_url(ssh_, consumers_dir_ + "/" + entry);
}

}  // namespace walferry
