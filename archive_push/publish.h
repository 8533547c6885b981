// Putting one prepared WAL file into one store, under the never-overwrite rule.
#pragma once

#include <optional>

#include "archive/archive_info.h"
#include "archive_push/wal_file.h"
#include "store/store.h"

namespace walferry {

enum class PublishOutcome {
    kStored,          // written now
    kAlreadyPresent,  // the store already held identical content (same SHA-256 and size)
};

// Puts prepared WAL files into one store. For segments it checks walferry.info (creating it on
// the first push) once per cluster, not once per file: a batch reads it once. Then it stores the
// file unless the same name is already there. Same name with other content -> Error(kConflict)
// naming both SHA-256s; the stored file is never touched. A stored file whose metadata cannot be
// read -> Error(kInvalidContainer), also untouched. Same metadata: the stored copy is read back
// whole (a truncated or damaged one -> Error(kChecksumMismatch or kInvalidContainer), untouched)
// and synced (file and name) before kAlreadyPresent is answered.
class Publisher {
  public:
    explicit Publisher(Store& store) : store_(store) {}

    // `look_first`: ask the store for the name before uploading, which saves the upload of a
    // file it may already hold (%p retried by PostgreSQL, a backlog entry). Without it the
    // upload happens and the never-replacing rename finds an existing name: same answers, one
    // round trip fewer for files that are new (look-ahead files).
    PublishOutcome publish(const PreparedWal& wal, bool look_first = true);

  private:
    Store& store_;
    std::optional<ArchiveInfo> checked_;  // the cluster walferry.info was found to match
};

inline PublishOutcome publish(Store& store, const PreparedWal& wal) {
    return Publisher(store).publish(wal);
}

}  // namespace walferry
