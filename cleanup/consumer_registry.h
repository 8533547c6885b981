// Cleanup consumers recorded inside a local archive, so that several standbys (and --prune)
// sharing one archive remove only what none of them still needs.
//
//   <archive>/.walferry-cleanup/consumers/<NAME>   cutoff = "<24 hex>"  updated = <unix time>
//   <archive>/.walferry-cleanup/lock               flock()ed while recording and removing
//
// The folder starts with '.', which no WAL name does, and stores skip dot-names when listing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "unique_fd.h"
#include "wal_name.h"

namespace walferry {

inline constexpr std::string_view kCleanupStateDir = ".walferry-cleanup";

struct ConsumerRecord {
    std::string name;
    WalName cutoff;           // kSegment
    std::int64_t updated = 0;  // unix time of the last record
};

// Throws Error(kUsage) unless `name` is 1..64 of [A-Za-z0-9_.-] and does not start with '.'.
void check_consumer_name(std::string_view name);

class ConsumerRegistry {
public:
    // Takes the archive's cleanup lock (blocking), so that concurrent cleanups (one per
    // standby) decide and remove one after the other. The state folder is created when
    // `create`; otherwise an archive without one simply has no consumers (and no lock is taken:
    // a dry run or a drop-in call writes nothing into the archive).
    ConsumerRegistry(const std::string& archive_dir, bool create);

    // Every recorded consumer, sorted by name. A damaged record -> Error(kInvalidState):
    // cleanup never decides on partial knowledge.
    std::vector<ConsumerRecord> load() const;

    // Writes NAME's record atomically (temp file, fsync, rename, fsync of the folder).
    void record(const std::string& name, const WalName& cutoff, std::int64_t now) const;

    // Removes NAME's record; false if there was none.
    bool forget(const std::string& name) const;

private:
    std::string consumers_dir_;  // empty: the archive has no cleanup state
    UniqueFd lock_;
};

}  // namespace walferry
