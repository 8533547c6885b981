// The prefetch spool: verified copies of archived segments, fetched ahead by a worker and served
// by the next calls without a network round trip.
//
//   <spool>/prefetch/<key>/<segment>.zst   the stored container, exactly as in the archive
//   <spool>/prefetch/<key>/lock            flock()ed by the one worker filling it
//
// The key is a hash of the directory %p is in and of the source URLs, so two clusters on one host
// (or one cluster with other sources) never share entries. Entries are the archived containers,
// not decompressed files: serving one goes through the same checks as a copy from a source (size,
// SHA-256, name, WAL page header), so a damaged entry is refused, never handed to PostgreSQL.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "restore_file.h"
#include "store.h"
#include "unique_fd.h"
#include "wal_name.h"

namespace walferry {

// "<spool>/prefetch/<16 hex digits>" for the directory of `target_path` (made absolute against
// the working directory, symbolic links resolved) and the sources, in order.
std::string prefetch_dir(const std::string& spool, const std::string& target_path,
                         const std::vector<Destination>& sources);

class PrefetchSpool {
  public:
    // `dir` must be absolute; it need not exist (then it is empty).
    explicit PrefetchSpool(std::string dir);

    const std::string& dir() const noexcept { return dir_; }

    // The segments held, in segment order; empty if the directory does not exist.
    std::vector<WalName> entries() const;

    // Puts entry `name` at `target_path` through restore_file's checks. A damaged entry ->
    // Error(kInvalidContainer / kChecksumMismatch), `target_path` untouched.
    RestoreOutcome serve(const WalName& name, const std::string& target_path,
                         std::uint64_t* seg_size);

    // Copies "<name>.zst" from `source` into the spool, checked as it streams in: temp file,
    // fsync, rename, directory fsync. kNotFound if the source does not have it. Damage ->
    // Error, nothing under the final name.
    RestoreOutcome store_from(Store& source, const WalName& name);

    // Removes entry `name` if it is there; never fails (a failure only leaves a stale entry).
    void remove(const WalName& name) noexcept;

    // Temporary files a killed worker left behind (call with the lock held).
    void remove_temps() noexcept;

    // Creates the directory (mode 0700) if needed and takes the worker lock without waiting.
    // Returns an invalid fd if another process holds it. Error(kIo) if it cannot be made.
    // The lock is an flock(): it goes away with the last fd, so a dead worker never leaves it.
    UniqueFd try_lock();

  private:
    std::string entry_path(const WalName& name) const;
    std::string dir_;
};

}  // namespace walferry
