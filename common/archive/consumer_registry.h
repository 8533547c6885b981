// Cleanup consumers recorded inside an archive, so that several standbys (and --prune) sharing
// one archive remove only what none of them still needs; walferry-status shows them. The record
// format and how records are read are here, once for every backend; where they are kept and the
// cleanup lock belong to the backend (store/consumer_store.h, Store::consumers).
//
//   <archive>/.walferry-cleanup/consumers/<NAME>   cutoff = "<24 hex>"  updated = <unix time>
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/consumer_store.h"
#include "store/store.h"
#include "wal/wal_name.h"

namespace walferry {

struct ConsumerRecord {
    std::string name;
    WalName cutoff;            // kSegment
    std::int64_t updated = 0;  // unix time of the last record
};

// Throws Error(kUsage) unless `name` is 1..64 of [A-Za-z0-9_.-] and does not start with '.'.
void check_consumer_name(std::string_view name);

// The temporary name NAME's record is written under: ".NAME.tmp".
std::string consumer_temp_name(std::string_view name);

class ConsumerRegistry {
  public:
    // The archive's records through its backend (Store::consumers): kLock and kCreate take the
    // archive's cleanup lock (waiting up to lock_wait_s where the lock is not a flock()), so that
    // concurrent cleanups decide and remove one after the other; kRead takes none.
    ConsumerRegistry(Store& archive, ConsumerAccess access, int lock_wait_s);
    explicit ConsumerRegistry(std::unique_ptr<ConsumerStore> store);

    // Every recorded consumer, sorted by name. A damaged record -> Error(kInvalidState):
    // cleanup never decides on partial knowledge. A complete temp record without its final
    // name (a writer stopped between replacing and renaming) counts as the record.
    // Without the lock (kRead) writers may replace, add and forget records meanwhile; each
    // record is then read as it is at that moment (its final name, else its complete temp
    // record), and the result counts only when the listings before and after it name the same
    // consumers (a listing that ran into a rename may miss that name): otherwise it is read
    // again, and after a few tries that keep changing -> Error(kUnavailable).
    std::vector<ConsumerRecord> load() const;

    // Writes NAME's record atomically (ConsumerStore::publish).
    void record(const std::string& name, const WalName& cutoff, std::int64_t now) const;

    // Removes NAME's record; false if there was none.
    bool forget(const std::string& name) const;

  private:
    std::vector<ConsumerRecord> load_listed(const std::vector<std::string>& entries) const;

    std::unique_ptr<ConsumerStore> store_;
};

}  // namespace walferry
