#include "store/sftp/sftp_consumer_store.h"

#include <chrono>
#include <ctime>
#include <thread>

#include "base/error.h"
#include "store/lock_holder.h"
#include "store/sftp/sftp_files.h"
#include "store/sftp/sftp_store.h"
#include "store/sftp/ssh_session.h"

namespace walferry {

namespace {

constexpr long kDirMode = 0750;
constexpr long kFileMode = 0640;
constexpr auto kLockPoll = std::chrono::milliseconds(500);

}  // namespace

SftpConsumerStore::SftpConsumerStore(SftpStore& archive, ConsumerAccess access, int lock_wait_s)
    : ssh_(archive.session()) {
    const std::string& root = archive.directory();
    state_dir_ = (root == "/" ? "" : root) + "/" + std::string(kCleanupStateDir);
    consumers_dir_ = state_dir_ + "/consumers";
    if (access == ConsumerAccess::kCreate) {
        sftp_make_dir(ssh_, state_dir_, kDirMode);
        sftp_make_dir(ssh_, consumers_dir_, kDirMode);
    } else if (!sftp_mtime(ssh_, state_dir_)) {
        return;
    }
    has_state_ = true;
    if (access != ConsumerAccess::kRead) lock(lock_wait_s);
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
