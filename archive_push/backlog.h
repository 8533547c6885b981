// The backlog of a destination that missed files: with required = N, a push that reached N
// destinations succeeds and leaves the compressed file here for each one that failed. Every
// later push (and walferry-push --drain) sends a destination its backlog first, oldest first.
//
// A queue is a Store (a spool subdirectory per destination in production, an in-memory store in
// tests) holding entries "<20-digit sequence>.<archive name>": exactly the bytes the destination
// should have stored, so an entry is published with the same never-overwrite rule as a fresh
// push. An entry is removed only after the destination durably holds it (stored now, or found
// identical); an entry the destination refuses (conflict, other cluster) is kept and reported:
// nothing is ever dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive_push/wal_file.h"
#include "base/error.h"
#include "store/store.h"

namespace walferry {

// "<seq as 20 decimal digits>.<wal.name.archive_file_name()>": names sort oldest first.
std::string backlog_entry_name(std::uint64_t seq, const WalName& name);

// Entries of `queue`, oldest first (anything else in it is ignored).
std::vector<std::string> backlog_entries(Store& queue);

// Total stored bytes of the entries of `queue`.
std::uint64_t backlog_bytes(Store& queue);

// Durably adds `wal` to `queue` under sequence `seq` (Error on failure: the caller must then
// fail the push, since the file would be missing from that destination). `source`, the WAL
// file's absolute path, is recorded next to the entry (best effort): should the entry be found
// damaged, that file is sent instead while it is still there.
void add_to_backlog(Store& queue, const PreparedWal& wal, std::uint64_t seq,
                    const std::string& source = {});

// Reads an entry back into what publish() needs, checked whole (decompressed, size and SHA-256
// against its metadata); nullopt if it is gone (a concurrent drain, another push's or a
// --drain, sent it meanwhile). Error(kInvalidState) naming the entry if it is damaged.
std::optional<PreparedWal> read_backlog_entry(Store& queue, const std::string& entry);

struct DrainResult {
    int sent = 0;                  // entries now durably in the destination, removed here
    std::vector<Error> refused;    // one per entry the destination refused (kept)
    std::optional<Error> failure;  // the destination stopped answering (rest kept)
    int left = 0;                  // entries still queued
    int taken = 0;                 // entries gone before they were read: sent by a concurrent drain
};

// True for errors about one file (conflict, foreign cluster, damaged data), as opposed to
// failures to reach or write the destination.
bool is_refusal(ErrorCode code);

// Sends every entry of `queue` to `destination`, oldest first. A refused entry (conflict,
// foreign cluster, unreadable stored file) is kept and reported, and the next one is tried. A
// damaged entry is never sent: it is reported, and the WAL file it came from is sent instead if
// it is still there unchanged (prepared with `compress`; the entry is then kept aside as
// "damaged-<entry>", out of the queue), else the entry stays queued. A
// transport or I/O failure stops the drain. Two drains of one queue may run at once (the
// archiver's push and a --drain): an entry the other one sent first is skipped, and one both
// sent is stored once (the second put finds it identical). Never throws for the destination's
// failures.
DrainResult drain_backlog(Store& queue, Store& destination, const CompressOptions& compress = {});

}  // namespace walferry
