// The spool directory (config `spool`): walferry-push's local state.
//
//   <spool>/backlog/<destination key>/   files a destination missed (backlog.h), one dir each
//   <spool>/batch/                       markers of files pushed ahead of their call (batch.h)
//
// Every subdirectory is a FileStore, so entries are written like archived files: temp name,
// fsync, link into place, directory fsync. The spool must never be inside PGDATA (a base backup
// would copy it, pg_rewind would clobber it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "archive/spool_layout.h"
#include "store/store.h"

namespace walferry {

class Spool {
  public:
    explicit Spool(std::string dir);

    const std::string& dir() const noexcept { return dir_; }

    // Error(kConfig) if the spool is inside the data directory `wal_path` belongs to (the parent
    // of its pg_wal directory). A `wal_path` not in a pg_wal directory is not checked.
    void check_outside_data_dir(const std::string& wal_path) const;

    // The backlog queue of destination `name`; nullptr if it does not exist and !create.
    std::unique_ptr<Store> backlog(const std::string& name, bool create) const;

    // Bytes held by every backlog queue, including those of destinations no longer configured.
    std::uint64_t backlog_total_bytes() const;

    // Destination keys that have a backlog directory.
    std::vector<std::string> backlog_keys() const;

    // The batch marker store; nullptr if it does not exist, or cannot be opened, and !create.
    // Every spool directory is opened as spool_dir.h says: a refused one -> Error(kInvalidState)
    // from backlog(), and from markers() when creating.
    std::unique_ptr<Store> markers(bool create) const;

  private:
    std::string dir_;
};

}  // namespace walferry
