// What one archive holds, from one listing and its .history files: per timeline the segments,
// the gaps along the timeline's valid range, what diverged; the timeline tree; what one
// destination lacks that another holds. Pure: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/store.h"
#include "wal/timeline_history.h"
#include "wal/wal_name.h"

namespace walferry {

struct TimelineSummary {
    std::uint32_t tli = 0;
    std::uint64_t segments = 0;  // full segments held
    std::optional<std::uint64_t> first;
    std::optional<std::uint64_t> last;  // segment numbers
    std::uint64_t stored_bytes = 0;     // every file of the timeline: segments, .partial, .backup
    std::int64_t newest_mtime = 0;      // of its newest segment
    std::vector<std::string> partials;  // .partial files (stored names)
    std::uint64_t diverged = 0;         // segments at or after every child's switch point
    bool has_history = false;           // "<tli>.history" is there (timeline 1 never has one)
};

// Segments [from, to] of a timeline missing inside its valid range.
struct Gap {
    std::uint32_t tli = 0;
    std::uint64_t from = 0;
    std::uint64_t to = 0;
    friend bool operator==(const Gap&, const Gap&) = default;
};

struct ArchiveContents {
    std::map<std::uint32_t, TimelineSummary> timelines;
    std::vector<Gap> gaps;
    std::vector<std::uint32_t> missing_histories;  // timelines above 1 without their .history
    std::vector<std::string> unknown_files;        // names that are no WAL file
    std::vector<ListedFile> wal_files;             // every stored WAL file (.zst), sorted
    std::uint64_t files = 0;                       // every file but walferry.info
    std::uint64_t stored_bytes = 0;
    std::int64_t newest_segment_mtime = 0;
};

// One node of the timeline tree: a timeline, where it left its parent and why.
struct TimelineNode {
    std::uint32_t tli = 0;
    std::optional<std::uint32_t> parent;  // nullopt for a root (timeline 1, or history unknown)
    std::optional<Lsn> switch_point;      // where it left the parent
    std::string reason;
    std::vector<std::uint32_t> children;  // ascending
};

using HistoryMap = std::map<std::uint32_t, TimelineHistory>;

// The tree of every timeline in `timelines` (and every one a history names), from `histories`.
std::map<std::uint32_t, TimelineNode> timeline_tree(const HistoryMap& histories,
                                                    const std::set<std::uint32_t>& timelines);

// Where timeline `tli` ends for recovery: the latest switch point at which a descendant left it,
// nullopt while no history names it as an ancestor (its range is open).
std::optional<Lsn> timeline_end(const HistoryMap& histories, std::uint32_t tli);

// Sorts `files` (one listing) into timelines and finds the gaps: between a timeline's first
// held segment (or its own start, when its parent is held up to there) and its last one, capped
// below the segment holding its end (that one may be a .partial); segments at or after the end
// are diverged, not expected.
ArchiveContents analyze_archive(const std::vector<ListedFile>& files, const HistoryMap& histories,
                                std::uint64_t seg_size);

// For each archive, the WAL files (stored names) other archives hold and it does not, from its
// own lowest segment on (older ones may have been pruned there first); .history files always.
std::vector<std::vector<std::string>> missing_elsewhere(
    const std::vector<std::vector<ListedFile>>& listings, std::uint64_t seg_size);

// "000000010000000000000007" for segment `segno` of `tli`.
std::string segment_file(std::uint32_t tli, std::uint64_t segno, std::uint64_t seg_size);

}  // namespace walferry
