#include "wal/cleanup_rules.h"

#include <tuple>

#include "base/error.h"

namespace walferry {

namespace {

// pg_archivecleanup compares names from the 9th character on: log/seg, timeline ignored.
bool before(const WalName& file, const WalName& cutoff) {
    return std::tie(file.log, file.seg) < std::tie(cutoff.log, cutoff.seg);
}

CleanupDecision make(bool remove, std::string category, std::string reason = {}) {
    if (reason.empty()) reason = category;
    return CleanupDecision{remove, std::move(category), std::move(reason)};
}

// Shared by diverged and abandoned segments: removed below the cutoff or when pruning.
CleanupDecision off_path(bool below_cutoff, bool prune, const std::string& kind,
                         const std::string& detail) {
    if (below_cutoff) return make(true, kind + ", before cutoff", detail + ", before cutoff");
    if (prune) return make(true, kind + ", pruned", detail + ", pruned (--prune-diverged)");
    return make(false, kind + ", above cutoff", detail + ", above cutoff");
}

}  // namespace

WalName parse_cutoff_name(std::string_view text) {
    WalName name = parse_wal_name(text);
    if (name.kind == WalKind::kHistory) {
        throw Error(ErrorCode::kInvalidName,
                    "invalid cutoff \"" + quote_name(text) +
                        "\": expected a WAL segment, .partial or .backup file name");
    }
    name.kind = WalKind::kSegment;
    name.offset = 0;
    name.compressed = false;
    return name;
}

CleanupRules::CleanupRules(const std::map<std::uint32_t, TimelineHistory>& histories,
                           const std::set<std::uint32_t>& timelines,
                           std::vector<CleanupCutoff> cutoffs, std::uint64_t seg_size,
                           CleanupOptions options)
    : seg_size_(seg_size), options_(options) {
    check_segment_size(seg_size);
    if (cutoffs.empty()) throw Error(ErrorCode::kInternal, "cleanup without a cutoff");
    std::set<std::uint32_t> all = timelines;
    for (const auto& [tli, history] : histories) all.insert(tli);
    auto history_of = [&](std::uint32_t tli) -> std::optional<TimelineHistory> {
        if (tli == 1) return TimelineHistory();
        if (auto it = histories.find(tli); it != histories.end()) return it->second;
        return std::nullopt;
    };
    for (CleanupCutoff& c : cutoffs) {
        const std::uint32_t tli = c.name.tli;
        View view{std::move(c), history_of(tli), {}};
        for (auto it = all.upper_bound(tli); it != all.end(); ++it) {
            view.newer.push_back(Newer{*it, history_of(*it)});
        }
        views_.push_back(std::move(view));
    }
}

// A kept newer timeline keeps what it reads of its ancestors: `file`, off the cutoff's path and
// above the cutoff, is not pruned if it is on a newer timeline's path, or if a newer timeline's
// path cannot be known.
std::optional<CleanupDecision> CleanupRules::kept_for_newer(const View& view, const WalName& file,
                                                            const std::string& detail) const {
    for (const Newer& newer : view.newer) {
        const std::string t = std::to_string(newer.tli);
        if (!newer.history) {
            return make(false, "timeline history missing",
                        history_name(newer.tli).wal_file_name() + " is not in the archive: " +
                            "cannot know what newer timeline " + t + " reads of timeline " +
                            std::to_string(file.tli) + " (kept, also with --prune-diverged)");
        }
        if (newer.history->place_segment(file.tli, file.segno(seg_size_), seg_size_) ==
            SegmentPlacement::kOnPath) {
            return make(false, "ancestry of a newer timeline",
                        detail + ", above cutoff, on the path to newer timeline " + t +
                            " (kept with it, also with --prune-diverged)");
        }
    }
    return std::nullopt;
}

CleanupDecision CleanupRules::decide_for(const View& view, const WalName& file) const {
    const WalName& cut = view.cutoff.name;
    const bool below = before(file, cut);
    if (file.kind == WalKind::kBackupHistory) {
        if (options_.clean_backup_history && below)
            return make(true, "backup history before cutoff");
        return make(false, "backup history",
                    options_.clean_backup_history
                        ? "backup history at or after cutoff"
                        : "backup history (-b removes those before the cutoff)");
    }
    if (file.tli > cut.tli) {
        return make(false, "newer timeline",
                    "timeline " + std::to_string(file.tli) + " is newer than cutoff timeline " +
                        std::to_string(cut.tli));
    }
    if (!view.path && file.tli != cut.tli) {
        return make(false, "timeline history missing",
                    history_name(cut.tli).wal_file_name() +
                        " is not in the archive: cannot place timeline " +
                        std::to_string(file.tli));
    }
    SegmentPlacement placement = SegmentPlacement::kOnPath;
    if (view.path) placement = view.path->place_segment(file.tli, file.segno(seg_size_), seg_size_);
    if (placement == SegmentPlacement::kOnPath) {
        return below ? make(true, "before cutoff on path")
                     : make(false, "at or after cutoff on path");
    }
    const bool diverged = placement == SegmentPlacement::kDiverged;
    const std::string kind = diverged ? "diverged" : "abandoned timeline";
    const std::string detail =
        diverged ? "diverged after " + format_lsn(*view.path->range_of(file.tli)->end)
                 : "timeline " + std::to_string(file.tli) + " is not on the path to timeline " +
                       std::to_string(cut.tli);
    if (!below && options_.prune_diverged) {
        if (std::optional<CleanupDecision> kept = kept_for_newer(view, file, detail)) return *kept;
    }
    return off_path(below, options_.prune_diverged, kind, detail);
}

CleanupDecision CleanupRules::decide(const WalName& file) const {
    if (file.kind == WalKind::kHistory) return make(false, "timeline history");
    if (file.kind != WalKind::kBackupHistory) {
        try {
            (void)file.segno(seg_size_);
        } catch (const Error&) {
            return make(false, "not a segment at this segment size",
                        "no such segment with wal_segment_size " + std::to_string(seg_size_));
        }
    }
    std::optional<CleanupDecision> removal;
    for (const View& view : views_) {
        CleanupDecision d = decide_for(view, file);
        if (!d.remove) {
            if (views_.size() > 1) d.reason += " (consumer " + view.cutoff.consumer + ")";
            return d;
        }
        if (!removal) removal = std::move(d);
    }
    if (views_.size() > 1) removal->reason += " (for every consumer)";
    return *removal;
}

}  // namespace walferry
