// Cleanup consumers of an SFTP archive: the same layout and record format as a local archive
// (archive/consumer_registry.h), reached through the archive's SFTP connection.
//
//   <archive>/.walferry-cleanup/consumers/<NAME>   replaced as sftp_replace_file() describes
//   <archive>/.walferry-cleanup/sftp-lock          created exclusively while recording and
//                                                  removing: host, pid and time of its holder
//
// SFTP has no flock(), so the lock is a file: created with CREAT|EXCL (atomic on the server),
// removed when the cleanup ends. A held lock is waited for, up to `lock_wait_s`; one older than
// kStaleLockSeconds (its holder died or lost the connection) is never broken silently: the
// cleanup stops with a message saying whose it is and how to remove it. The local registry's
// flock() file is named "lock"; the two do not exclude each other.
#pragma once

#include <cstdint>
#include <string>

#include "store/consumer_store.h"

namespace walferry {

class SftpStore;
class SshSession;

inline constexpr std::int64_t kStaleLockSeconds = std::int64_t{10} * 60;
inline constexpr std::string_view kSftpLockName = "sftp-lock";

class SftpConsumerStore final : public ConsumerStore {
  public:
    // Like the local store (ConsumerAccess): kCreate creates the state folder, an archive
    // without one has no consumers and no lock is taken; kRead takes no lock.
    SftpConsumerStore(SftpStore& archive, ConsumerAccess access, int lock_wait_s);
    ~SftpConsumerStore() override;
    SftpConsumerStore(const SftpConsumerStore&) = delete;
    SftpConsumerStore& operator=(const SftpConsumerStore&) = delete;

    bool has_state() const override { return has_state_; }
    bool locked() const override { return locked_; }
    std::vector<std::string> entries() override;
    std::optional<std::string> read(const std::string& entry, std::size_t max_bytes) override;
    void publish(const std::string& temp, const std::string& name,
                 const std::string& text) override;
    bool remove(const std::string& entry) override;
    std::string where(const std::string& entry) const override;

  private:
    void lock(int lock_wait_s);

    SshSession& ssh_;
    std::string state_dir_;
    std::string consumers_dir_;
    bool has_state_ = false;
    bool locked_ = false;
};

}  // namespace walferry
