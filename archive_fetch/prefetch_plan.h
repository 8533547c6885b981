// What the prefetch spool should hold, decided from WAL names alone. Pure: no I/O.
//
// After segment S of timeline T is served, the window is S+1 .. S+depth on T. The spool holds at
// most one window: a request on another timeline makes every entry useless, a request for a
// later segment makes the entries before it useless (recovery has passed them).
#pragma once

#include <cstdint>
#include <vector>

#include "wal/wal_name.h"

namespace walferry {

// S+1 .. S+depth on S's timeline, fewer if the last possible segment comes first. `served` must
// be a segment name.
std::vector<WalName> prefetch_window(const WalName& served, std::uint64_t seg_size, int depth);

// The entries a request for segment `requested` makes useless: all of them if any is on another
// timeline (a timeline switch: the old one's segments are never asked for again), else those
// before `requested`. Entries after it are kept: they are verified copies recovery will reach.
std::vector<WalName> stale_entries(const std::vector<WalName>& entries, const WalName& requested);

// The names of `names` not among `others`, in order. A worker fetches names_not_in(window,
// entries) and removes names_not_in(entries, window): the spool never holds more than a window.
std::vector<WalName> names_not_in(const std::vector<WalName>& names,
                                  const std::vector<WalName>& others);

// After a segment was served: a worker is worth starting (one SSH handshake) only once at most
// half of the window is in the spool, so a steady replay opens one session per depth/2 segments.
bool worker_wanted(const std::vector<WalName>& window, const std::vector<WalName>& entries);

// Segment order on one timeline (log, then seg), for sorting entries.
bool segment_before(const WalName& a, const WalName& b) noexcept;

}  // namespace walferry
