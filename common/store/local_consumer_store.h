// Cleanup consumers of a local archive (FileStore::consumers): the records are files in
// <archive>/.walferry-cleanup/consumers, replaced by rename(); the lock is a flock() on
// <archive>/.walferry-cleanup/lock, blocking, so that concurrent cleanups (one per standby)
// decide and remove one after the other.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "store/consumer_store.h"

namespace walferry {

class LocalConsumerStore final : public ConsumerStore {
  public:
    // kCreate creates the state folder; otherwise an archive without one has no consumers and
    // nothing is written (no lock file either). kRead opens nothing for writing and takes no
    // lock.
    LocalConsumerStore(const std::string& archive_dir, ConsumerAccess access);

    bool has_state() const override { return !dir_.empty(); }
    bool locked() const override { return static_cast<bool>(lock_); }
    std::vector<std::string> entries() override;
    std::optional<std::string> read(const std::string& entry, std::size_t max_bytes) override;
    void publish(const std::string& temp_name, const std::string& name,
                 const std::string& text) override;
    bool remove(const std::string& entry) override;
    std::string where(const std::string& entry) const override { return dir_ + "/" + entry; }

  private:
    UniqueFd open_dir() const;

    std::string dir_;  // empty: the archive has no cleanup state
    UniqueFd lock_;
};

}  // namespace walferry
