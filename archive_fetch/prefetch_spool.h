// The prefetch spool: segments fetched ahead by a worker, verified, and served by the next calls
// without a network round trip.
//
//   <spool>/prefetch/<key>/<segment>        the segment, decompressed and verified by the worker
//                                          (size, SHA-256, name, WAL page header), fsynced
//   <spool>/prefetch/<key>/<segment>.ok     the identity of that file once it was complete
//                                          (file_identity.h) and the system identifier of its
//                                          cluster: what lets a call trust it unread
//   <spool>/prefetch/<key>/lock            flock()ed by the one worker filling it
//   <spool>/prefetch/<key>/damaged.<file>.<i>  a damaged copy of <file> the worker met on
//                                          source i (damage_note.h), until a call prints it
//
// The key is a hash of the directory %p is in and of the source URLs, so two clusters on one host
// (or one cluster with other sources) never share entries. A segment without its .ok is not an
// entry (a worker was stopped while storing it). A call serves an entry only if the file is still
// the one the worker checked (same device, inode, size, mtime and ctime: nothing has written to,
// truncated or replaced it since) and its page header matches its name; it is then renamed to %p
// (copied when the spool is on another file system), so serving costs no read of 16 MiB, no hash
// and no decompression. An entry that fails either check is refused, never handed to PostgreSQL.
//
// Each entry is of one cluster: the worker stores only segments of the recovering server's
// cluster that the archive's walferry.info vouches for (cluster_guard.h) and records the system
// identifier in the .ok; a call serves only an entry of its own server's cluster, and a data
// directory re-created at the same path (another cluster, the same key) finds the old entries
// refused and removed.
//
// The spool's directories are opened with open_spool_dir (spool_dir.h: never through a symbolic
// link, ours, private) and every file in it is opened, renamed and removed relative to the
// directory's fd, never by a path: nothing outside the spool is ever touched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/damage_note.h"
#include "archive_fetch/restore_file.h"
#include "base/unique_fd.h"
#include "cli/config.h"
#include "store/store.h"
#include "wal/wal_name.h"

namespace walferry {

inline constexpr std::size_t kMaxDamageNotes = 100;

// "prefetch/<16 hex digits>" for the directory of `target_path` (made absolute against the
// working directory, symbolic links resolved) and the sources, in order: the spool directory
// under the spool root.
std::string prefetch_dir(const std::string& target_path, const std::vector<Destination>& sources);

class PrefetchSpool {
  public:
    // The directory `relative` under the spool root `root` (absolute), holding segments of the
    // cluster `sysid`; it need not exist (then it is empty).
    PrefetchSpool(std::string root, std::string relative, std::uint64_t sysid);

    const std::string& dir() const noexcept { return dir_; }
    std::uint64_t sysid() const noexcept { return sysid_; }

    // Opens the directory if it exists: Error(kInvalidState) if it (or the root, or "prefetch")
    // is not walferry's own (spool_dir.h). The other members open it when they first need it.
    void open_existing();

    // Forgets the open directory (closes it) so the next use opens it again, e.g. in a child
    // process that is about to close every inherited fd.
    void close_dir() noexcept;

    // The segments held, in segment order; empty if the directory does not exist.
    // Error(kInvalidState) if it is refused (spool_dir.h).
    std::vector<WalName> entries() const;

    // Moves entry `name` to `target_path` (replacing it) after the checks above; the entry is
    // gone afterwards. kNotFound if it is not an entry. A changed or damaged entry ->
    // Error(kInvalidContainer), an entry of another cluster -> Error(kForeignCluster),
    // `target_path` untouched, the entry left for the caller to remove.
    RestoreOutcome serve(const WalName& name, const std::string& target_path,
                         std::uint64_t* seg_size);

    // Fetches "<name>.zst" from `source` and stores the segment, decompressed and checked as it
    // streams in (a segment of another cluster than sysid() or than the source's walferry.info
    // is damage): temp file, fsync, rename, then its .ok the same way, directory fsync.
    // kNotFound if the source does not have it. Damage -> Error, no entry.
    RestoreOutcome store_from(Store& source, const WalName& name);

    // Removes entry `name` if it is there; never fails (a failure only leaves a stale entry).
    void remove(const WalName& name) noexcept;

    // What a killed worker (or an older walferry) left behind: temporary files, segments without
    // their .ok and .ok files without their segment, stored .zst files, and entries of another
    // cluster than sysid() (call with the lock held).
    void remove_leftovers() noexcept;

    // Notes a damaged copy the worker met on source `source_index` (call with the lock held):
    // written to a temporary file, synced and renamed, so a reader never sees half a note; the
    // same copy met again replaces its note. Beyond kMaxDamageNotes notes, new ones are dropped.
    // Never fails: a note that cannot be written is lost, nothing else.
    void note_damage(const DamageNote& note, std::size_t source_index) noexcept;

    // The notes, in name order, each removed from the spool; only those this process removed
    // are returned, so two calls never both print one. Malformed ones are removed and skipped.
    // At most kMaxDamageNotes, each read up to a small bound. Never fails.
    std::vector<DamageNote> take_damage_notes() noexcept;

    // Creates the directory (mode 0700) if needed and takes the worker lock without waiting.
    // Returns an invalid fd if another process holds it. Error(kIo) if it cannot be made.
    // The lock is an flock(): it goes away with the last fd, so a dead worker never leaves it.
    UniqueFd try_lock();

  private:
    // The directory's fd; -1 if it does not exist and !create. Error if it is refused.
    int dir_fd(bool create) const;
    std::string where(const std::string& file) const;

    std::string root_;
    std::string relative_;
    std::string dir_;
    std::uint64_t sysid_;
    mutable UniqueFd dir_fd_;
};

}  // namespace walferry
