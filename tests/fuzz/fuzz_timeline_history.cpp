// Fuzzes TimelineHistory::parse. Input: the target timeline in decimal on the first line, then the
// content of "<target>.history". Every accepted history must describe a path of strictly
// increasing timelines with contiguous ranges from 0/0, ending with the target, open-ended; and
// on_path, range_of, timeline_of and place_segment must agree with that path.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "fuzz_check.h"
#include "wal/lsn.h"
#include "wal/timeline_history.h"

namespace walferry::fuzz {
namespace {

bool contains(const TimelineRange& r, Lsn lsn) {
    return r.begin <= lsn && (!r.end || lsn < *r.end);
}

void check_path(const TimelineHistory& history, std::uint32_t target) {
    const auto& path = history.path();
    WALFERRY_FUZZ_CHECK(history.target() == target);
    WALFERRY_FUZZ_CHECK(!path.empty());
    WALFERRY_FUZZ_CHECK(path.front().begin == Lsn{0});
    WALFERRY_FUZZ_CHECK(path.back().tli == target);
    WALFERRY_FUZZ_CHECK(!path.back().end.has_value());
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        WALFERRY_FUZZ_CHECK(path[i].tli < path[i + 1].tli);
        WALFERRY_FUZZ_CHECK(path[i].end.has_value());
        WALFERRY_FUZZ_CHECK(path[i].begin <= *path[i].end);
        WALFERRY_FUZZ_CHECK(*path[i].end == path[i + 1].begin);
    }
}

void check_lookups(const TimelineHistory& history) {
    const auto& path = history.path();
    std::vector<Lsn> probes = {Lsn{0}, Lsn{1}, Lsn{std::numeric_limits<std::uint64_t>::max()}};
    for (const auto& range : path) {
        WALFERRY_FUZZ_CHECK(history.on_path(range.tli));
        WALFERRY_FUZZ_CHECK(history.range_of(range.tli) == range);
        for (std::uint32_t tli : {range.tli - 1, range.tli + 1}) {
            bool listed = false;
            for (const auto& other : path) listed = listed || other.tli == tli;
            WALFERRY_FUZZ_CHECK(history.on_path(tli) == listed);
            WALFERRY_FUZZ_CHECK(history.range_of(tli).has_value() == listed);
        }
        probes.push_back(range.begin);
        if (range.begin.value > 0) probes.push_back(Lsn{range.begin.value - 1});
        if (range.end) {
            probes.push_back(*range.end);
            if (range.end->value > 0) probes.push_back(Lsn{range.end->value - 1});
        }
    }
    // timeline_of agrees with range_of: the timeline it names holds the LSN.
    for (Lsn lsn : probes) {
        std::uint32_t tli = history.timeline_of(lsn);
        auto range = history.range_of(tli);
        WALFERRY_FUZZ_CHECK(range.has_value());
        WALFERRY_FUZZ_CHECK(contains(*range, lsn));
    }
    // Every non-empty range is named by timeline_of for its own first and last LSN.
    for (const auto& range : path) {
        if (range.end && *range.end == range.begin) continue;
        WALFERRY_FUZZ_CHECK(history.timeline_of(range.begin) == range.tli);
        if (range.end)
            WALFERRY_FUZZ_CHECK(history.timeline_of(Lsn{range.end->value - 1}) == range.tli);
    }
}

void check_placement(const TimelineHistory& history) {
    constexpr std::uint64_t kSegSize = std::uint64_t{1} << 24;
    for (const auto& range : history.path()) {
        constexpr std::uint64_t kLastSegno = std::numeric_limits<std::uint64_t>::max() / kSegSize;
        std::vector<std::uint64_t> segnos = {0, lsn_to_segno(range.begin, kSegSize)};
        if (range.end) {
            std::uint64_t last = lsn_to_segno(*range.end, kSegSize);
            segnos.push_back(last);
            if (last > 0) segnos.push_back(last - 1);
            if (last < kLastSegno) segnos.push_back(last + 1);
        }
        for (std::uint64_t segno : segnos) {
            SegmentPlacement placement = history.place_segment(range.tli, segno, kSegSize);
            std::uint64_t first = segno * kSegSize;
            std::uint64_t last = first + (kSegSize - 1);  // inclusive: no overflow at the top
            bool starts_after_switch = range.end && first >= range.end->value;
            bool overlaps = last >= range.begin.value && (!range.end || first < range.end->value) &&
                            (!range.end || range.begin < *range.end);
            if (starts_after_switch) WALFERRY_FUZZ_CHECK(placement == SegmentPlacement::kDiverged);
            if (overlaps) WALFERRY_FUZZ_CHECK(placement == SegmentPlacement::kOnPath);
            WALFERRY_FUZZ_CHECK(placement != SegmentPlacement::kUnrelated);
        }
        for (std::uint32_t tli : {range.tli - 1, range.tli + 1}) {
            if (history.on_path(tli)) continue;
            WALFERRY_FUZZ_CHECK(history.place_segment(tli, 0, kSegSize) ==
                                SegmentPlacement::kUnrelated);
        }
    }
}

}  // namespace

void test_one_input(std::span<const std::uint8_t> data) {
    std::string_view input = as_text(data);
    auto newline = input.find('\n');
    if (newline == std::string_view::npos) return;
    std::uint32_t target = 0;
    auto [end, ec] = std::from_chars(input.data(), input.data() + newline, target);
    if (ec != std::errc() || end != input.data() + newline) return;
    std::string_view content = input.substr(newline + 1);

    auto history = accepted(ErrorCode::kInvalidHistory,
                            [&] { return TimelineHistory::parse(target, content); });
    if (history) {
        check_path(*history, target);
        check_lookups(*history);
        check_placement(*history);
    }
}

}  // namespace walferry::fuzz
