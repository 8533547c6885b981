// Timeline history files ("00000003.history") and the questions cleanup and fetch ask of them.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wal/lsn.h"
#include "wal/wal_name.h"

namespace walferry {

// One timeline on the path to a target timeline, like PostgreSQL's TimeLineHistoryEntry:
// the timeline holds WAL in [begin, end); end is nullopt for the target itself (open-ended).
struct TimelineRange {
    std::uint32_t tli = 0;
    Lsn begin;
    std::optional<Lsn> end;
    friend bool operator==(const TimelineRange&, const TimelineRange&) = default;
};

enum class SegmentPlacement {
    kOnPath,    // timeline on the path, segment starting before its switch point (if any):
                // recovery along the path reads it, or would have, for segments below its begin
    kDiverged,  // timeline on the path, but the segment starts at or after its switch point
    kUnrelated  // timeline not on the path at all
};

class TimelineHistory {
  public:
    // History of timeline 1 (no file exists for it): one open range starting at 0/0.
    TimelineHistory() : TimelineHistory(1, {}) {}

    // Parses the content of "<target>.history". Lines: "parentTLI<TAB>switchpoint<TAB>reason"
    // (whitespace-separated; reason optional), '#' comments and blank lines skipped, switchpoint
    // "%X/%X" padded or not. Parent timelines must be strictly increasing, below `target`, and
    // switch points non-decreasing. Throws Error(kInvalidHistory) naming the line number.
    static TimelineHistory parse(std::uint32_t target, std::string_view content);

    std::uint32_t target() const noexcept { return target_; }

    // The path from the oldest ancestor to the target, each with its LSN range, oldest first.
    const std::vector<TimelineRange>& path() const noexcept { return path_; }

    bool on_path(std::uint32_t tli) const noexcept;

    // Range of `tli` if it is on the path.
    std::optional<TimelineRange> range_of(std::uint32_t tli) const noexcept;

    // The reason PostgreSQL wrote on the last line (why the target branched off its parent,
    // e.g. "no recovery target specified"); empty for timeline 1 or a line without one.
    const std::string& switch_reason() const noexcept { return switch_reason_; }

    // Which timeline holds `lsn` on the path to the target (PostgreSQL's tliOfPointInHistory).
    std::uint32_t timeline_of(Lsn lsn) const noexcept;

    // Where segment `segno` of timeline `tli` stands relative to the target's path.
    SegmentPlacement place_segment(std::uint32_t tli, std::uint64_t segno,
                                   std::uint64_t seg_size) const;

  private:
    TimelineHistory(std::uint32_t target, std::vector<TimelineRange> path);
    std::uint32_t target_;
    std::vector<TimelineRange> path_;
    std::string switch_reason_;
};

// A .history or .backup file larger than this is not one (a history holds a line per ancestor
// timeline, a backup history file a dozen lines).
inline constexpr std::size_t kMaxSmallWalFileSize = 1 << 20;

// The one rule for the content of a .history or .backup file (`name`), applied by push before
// storing and by fetch before handing over, so that nothing is archived that recovery could
// never fetch. `content` is the whole file when `size` is at most kMaxSmallWalFileSize. Refused:
// empty, larger than kMaxSmallWalFileSize, and a .history that does not parse or names no parent
// timeline (PostgreSQL writes a line per ancestor: with none it is never a file it wrote).
// Throws Error(kInvalidHistory) saying which.
void check_small_wal_file(const WalName& name, std::uint64_t size, std::string_view content);

}  // namespace walferry
