// Which archived files a cleanup may remove, following timeline history. Pure: no I/O.
//
// A cutoff is one consumer's oldest still-needed WAL file (PostgreSQL's %r): timeline c,
// segment n. Path(c) is c and its ancestors with their LSN ranges (from c's .history file).
//   on path      segment of a timeline on Path(c) starting before that timeline's switch point:
//                removed iff it sorts before n (log/seg part, as pg_archivecleanup compares)
//   diverged     segment of an ancestor starting at or after its switch point (recovery along c
//                never reads it): removed if before n, or always with prune_diverged
//   abandoned    timeline below c that is not on Path(c): like diverged
//   newer        timeline above c: kept (another server may follow it), and with it what it reads
//                of its own ancestors: a diverged or abandoned segment above n that is on the
//                path of a newer timeline t (before t's switch points) is kept also with
//                prune_diverged, as is every one when some newer timeline's history is missing
//   .history     kept; .backup kept unless clean_backup_history and before n
// With several cutoffs (consumers) a file is removed only if every cutoff's rules remove it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "wal/timeline_history.h"
#include "wal/wal_name.h"

namespace walferry {

struct CleanupCutoff {
    std::string consumer;  // "" for the cutoff given on the command line
    WalName name;          // kind kSegment: timeline and log/seg of the oldest kept file
};

// Parses OLDESTKEPTWALFILE as pg_archivecleanup does: a segment, .partial or .backup name
// (".zst" allowed); the .partial/.backup forms stand for their segment.
// Throws Error(kInvalidName).
WalName parse_cutoff_name(std::string_view text);

struct CleanupOptions {
    bool prune_diverged = false;        // --prune-diverged
    bool clean_backup_history = false;  // -b
};

struct CleanupDecision {
    bool remove = false;
    std::string category;  // short and stable, for the summary ("before cutoff on path")
    std::string reason;    // category with details ("diverged after 0/8A000060, above cutoff")
};

class CleanupRules {
  public:
    // `histories` holds the parsed .history files of the archive by timeline: at least those
    // of every cutoff's timeline above 1 and, with prune_diverged, of every timeline above the
    // lowest cutoff's. A missing one makes the rules keep what they cannot place.
    // `timelines` lists every timeline the archive holds a file of (those of `histories` count
    // too). `cutoffs` must not be empty.
    CleanupRules(const std::map<std::uint32_t, TimelineHistory>& histories,
                 const std::set<std::uint32_t>& timelines, std::vector<CleanupCutoff> cutoffs,
                 std::uint64_t seg_size, CleanupOptions options);

    CleanupDecision decide(const WalName& file) const;

  private:
    struct Newer {
        std::uint32_t tli = 0;
        std::optional<TimelineHistory> history;  // nullopt: not in the archive
    };
    struct View {
        CleanupCutoff cutoff;
        std::optional<TimelineHistory> path;  // nullopt: c's history is not in the archive
        std::vector<Newer> newer;             // the archive's timelines above c, ascending
    };
    CleanupDecision decide_for(const View& view, const WalName& file) const;
    std::optional<CleanupDecision> kept_for_newer(const View& view, const WalName& file,
                                                  const std::string& detail) const;

    std::vector<View> views_;
    std::uint64_t seg_size_;
    CleanupOptions options_;
};

}  // namespace walferry
