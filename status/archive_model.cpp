#include "status/archive_model.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "archive/archive_info.h"
#include "wal/lsn.h"

namespace walferry {

std::string segment_file(std::uint32_t tli, std::uint64_t segno, std::uint64_t seg_size) {
    return segment_name(tli, segno, seg_size).wal_file_name();
}

std::map<std::uint32_t, TimelineNode> timeline_tree(const HistoryMap& histories,
                                                    const std::set<std::uint32_t>& timelines) {
    std::map<std::uint32_t, TimelineNode> tree;
    auto node = [&](std::uint32_t tli) -> TimelineNode& {
        TimelineNode& n = tree[tli];
        n.tli = tli;
        return n;
    };
    for (std::uint32_t tli : timelines) node(tli);
    for (const auto& [tli, history] : histories) {
        for (const TimelineRange& r : history.path()) node(r.tli);
        const auto& path = history.path();
        TimelineNode& n = node(tli);
        if (path.size() < 2) continue;
        const TimelineRange& parent = path[path.size() - 2];
        n.parent = parent.tli;
        n.switch_point = parent.end;
        n.reason = history.switch_reason();
    }
    // Ancestors named only inside a newer history: their parent is the entry before them.
    for (const auto& [tli, history] : histories) {
        const auto& path = history.path();
        for (std::size_t i = 1; i + 1 < path.size(); ++i) {
            TimelineNode& n = tree[path[i].tli];
            if (n.parent) continue;
            n.parent = path[i - 1].tli;
            n.switch_point = path[i - 1].end;
        }
    }
    for (auto& [tli, n] : tree) {
        if (n.parent) tree[*n.parent].children.push_back(tli);
    }
    for (auto& [tli, n] : tree) std::sort(n.children.begin(), n.children.end());
    return tree;
}

std::optional<Lsn> timeline_end(const HistoryMap& histories, std::uint32_t tli) {
    std::optional<Lsn> end;
    for (const auto& [descendant, history] : histories) {
        if (descendant == tli) continue;
        std::optional<TimelineRange> r = history.range_of(tli);
        if (r && r->end && (!end || *r->end > *end)) end = r->end;
    }
    return end;
}

namespace {

struct Held {
    std::vector<std::uint64_t> segnos;  // sorted
};

// The first and last segment a timeline must hold without a hole, nullopt if none.
std::optional<std::pair<std::uint64_t, std::uint64_t>> expected_range(
    const TimelineSummary& t, const HistoryMap& histories,
    const std::map<std::uint32_t, TimelineSummary>& all, std::uint64_t seg_size) {
    if (!t.first) return std::nullopt;
    std::uint64_t from = *t.first;
    auto own = histories.find(t.tli);
    if (own != histories.end() && own->second.path().size() >= 2) {
        const TimelineRange& parent = own->second.path()[own->second.path().size() - 2];
        const std::uint64_t begin = lsn_to_segno(*parent.end, seg_size);
        auto p = all.find(parent.tli);
        // The parent is held up to where this timeline starts: it must go on from there.
        if (p != all.end() && p->second.first && *p->second.first <= begin) {
            from = std::min(from, begin);
        }
    }
    std::uint64_t to = *t.last;
    if (std::optional<Lsn> end = timeline_end(histories, t.tli)) {
        // Segments from the one holding the end are optional (.partial) or diverged.
        const std::uint64_t end_segno = lsn_to_segno(*end, seg_size);
        if (end_segno == 0) return std::nullopt;
        to = end_segno - 1;
    }
    if (to < from) return std::nullopt;
    return std::make_pair(from, to);
}

std::vector<Gap> gaps_of(const TimelineSummary& t, const Held& held,
                         std::pair<std::uint64_t, std::uint64_t> range) {
    std::vector<Gap> gaps;
    std::uint64_t next = range.first;
    for (std::uint64_t s : held.segnos) {
        if (s > range.second) break;
        if (s < next) continue;
        if (s > next) gaps.push_back(Gap{t.tli, next, s - 1});
        next = s + 1;
    }
    if (next <= range.second) gaps.push_back(Gap{t.tli, next, range.second});
    return gaps;
}

}  // namespace

namespace {

// One listed file into `out` (and its segment number into `held`).
void count_listed_file(const ListedFile& f, std::uint64_t seg_size, ArchiveContents& out,
                       std::map<std::uint32_t, Held>& held) {
    if (f.name == kArchiveInfoName) return;
    ++out.files;
    out.stored_bytes += f.size;
    WalName name;
    if (!f.name.ends_with(".zst") || !try_parse_wal_name(f.name, name)) {
        out.unknown_files.push_back(f.name);
        return;
    }
    out.wal_files.push_back(f);
    TimelineSummary& t = out.timelines[name.tli];
    t.tli = name.tli;
    if (name.kind == WalKind::kHistory) {
        t.has_history = true;
        return;
    }
    t.stored_bytes += f.size;
    if (name.kind == WalKind::kPartial) t.partials.push_back(f.name);
    if (name.kind != WalKind::kSegment) return;
    const std::uint64_t segno = name.segno(seg_size);
    ++t.segments;
    t.first = std::min(t.first.value_or(segno), segno);
    t.last = std::max(t.last.value_or(segno), segno);
    t.newest_mtime = std::max(t.newest_mtime, f.mtime);
    out.newest_segment_mtime = std::max(out.newest_segment_mtime, f.mtime);
    held[name.tli].segnos.push_back(segno);
}

// A timeline's missing history, diverged segments and gaps, once every file is counted.
void check_timeline(TimelineSummary& t, const Held& held, const HistoryMap& histories,
                    std::uint64_t seg_size, ArchiveContents& out) {
    if (t.tli > 1 && !t.has_history) out.missing_histories.push_back(t.tli);
    if (std::optional<Lsn> end = timeline_end(histories, t.tli)) {
        for (std::uint64_t s : held.segnos) {
            if (segno_to_lsn(s, seg_size) >= *end) ++t.diverged;
        }
    }
    if (auto range = expected_range(t, histories, out.timelines, seg_size)) {
        for (const Gap& g : gaps_of(t, held, *range)) out.gaps.push_back(g);
    }
}

}  // namespace

ArchiveContents analyze_archive(const std::vector<ListedFile>& files, const HistoryMap& histories,
                                std::uint64_t seg_size) {
    ArchiveContents out;
    std::map<std::uint32_t, Held> held;
    for (const ListedFile& f : files) count_listed_file(f, seg_size, out, held);
    for (auto& [tli, h] : held) std::sort(h.segnos.begin(), h.segnos.end());
    for (auto& [tli, t] : out.timelines) check_timeline(t, held[tli], histories, seg_size, out);
    return out;
}

namespace {

// One WAL file of one destination's listing, for the cross-destination comparison.
struct HeldEntry {
    std::string_view name;
    bool history = false;
    std::uint64_t segno = 0;
    std::size_t owner = 0;
};

// Every WAL file of every listing, sorted by name then holder; `lowest` gets each listing's
// lowest segment number (max() for a listing without segments).
std::vector<HeldEntry> every_wal_file(const std::vector<std::vector<ListedFile>>& listings,
                                      std::uint64_t seg_size, std::vector<std::uint64_t>& lowest) {
    std::vector<HeldEntry> every;
    lowest.assign(listings.size(), std::numeric_limits<std::uint64_t>::max());
    for (std::size_t i = 0; i < listings.size(); ++i) {
        for (const ListedFile& f : listings[i]) {
            WalName name;
            if (!f.name.ends_with(".zst") || !try_parse_wal_name(f.name, name)) continue;
            HeldEntry e{f.name, name.kind == WalKind::kHistory, 0, i};
            if (!e.history) {
                e.segno = name.segno(seg_size);
                if (name.kind == WalKind::kSegment) lowest[i] = std::min(lowest[i], e.segno);
            }
            every.push_back(e);
        }
    }
    std::sort(every.begin(), every.end(), [](const HeldEntry& a, const HeldEntry& b) {
        return a.name != b.name ? a.name < b.name : a.owner < b.owner;
    });
    return every;
}

}  // namespace

std::vector<std::vector<std::string>> missing_elsewhere(
    const std::vector<std::vector<ListedFile>>& listings, std::uint64_t seg_size) {
    std::vector<std::vector<std::string>> missing(listings.size());
    if (listings.size() < 2) return missing;
    // Runs of one name in the sorted entries, one entry per holder.
    std::vector<std::uint64_t> lowest;
    const std::vector<HeldEntry> every = every_wal_file(listings, seg_size, lowest);
    std::vector<bool> holds(listings.size());
    for (std::size_t run = 0; run < every.size();) {
        std::size_t end = run;
        std::fill(holds.begin(), holds.end(), false);
        while (end < every.size() && every[end].name == every[run].name) {
            holds[every[end++].owner] = true;
        }
        const HeldEntry& e = every[run];
        for (std::size_t i = 0; i < listings.size(); ++i) {
            const std::uint64_t from =
                lowest[i] == std::numeric_limits<std::uint64_t>::max() ? 0 : lowest[i];
            if (!holds[i] && (e.history || e.segno >= from)) missing[i].emplace_back(e.name);
        }
        run = end;
    }
    return missing;
}

}  // namespace walferry
