#include "wal/timeline_history.h"

#include <cctype>

#include "base/error.h"

namespace walferry {

namespace {

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    return s;
}

std::string_view next_token(std::string_view& rest) {
    rest = trim_left(rest);
    std::size_t end = 0;
    while (end < rest.size() && !std::isspace(static_cast<unsigned char>(rest[end]))) ++end;
    std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end);
    return token;
}

bool parse_decimal_tli(std::string_view text, std::uint32_t& out) {
    if (text.empty() || text.size() > 10) return false;
    std::uint64_t v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v == 0 || v > 0xFFFFFFFFu) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

}  // namespace

TimelineHistory::TimelineHistory(std::uint32_t target, std::vector<TimelineRange> path)
    : target_(target), path_(std::move(path)) {
    Lsn begin = path_.empty() ? Lsn{0} : *path_.back().end;
    path_.push_back(TimelineRange{target, begin, std::nullopt});
}

TimelineHistory TimelineHistory::parse(std::uint32_t target, std::string_view content) {
    const std::string where = "timeline history of timeline " + std::to_string(target);
    if (target == 0) throw Error(ErrorCode::kInvalidHistory, where + ": timeline 0 does not exist");
    std::vector<TimelineRange> path;
    std::string reason;
    Lsn previous_end{0};
    std::size_t line_no = 0;
    while (!content.empty()) {
        ++line_no;
        std::size_t eol = content.find('\n');
        std::string_view line = content.substr(0, eol);
        content.remove_prefix(eol == std::string_view::npos ? content.size() : eol + 1);

        std::string_view rest = trim_left(line);
        if (rest.empty() || rest.front() == '#') continue;
        auto fail = [&](const std::string& problem) {
            throw Error(ErrorCode::kInvalidHistory,
                        where + ", line " + std::to_string(line_no) + ": " + problem);
        };
        if (line.find('\0') != std::string_view::npos) fail("contains a NUL byte");
        std::uint32_t parent = 0;
        if (!parse_decimal_tli(next_token(rest), parent)) {
            fail("expected a timeline number (decimal, 1 to 4294967295) at the start");
        }
        std::string_view switch_text = next_token(rest);
        if (switch_text.empty()) fail("expected a switch point LSN after the timeline number");
        Lsn switchpoint;
        try {
            switchpoint = parse_lsn(switch_text);
        } catch (const Error& e) {
            fail(e.what());
        }
        if (parent >= target) {
            fail("parent timeline " + std::to_string(parent) + " is not below timeline " +
                 std::to_string(target));
        }
        if (!path.empty() && parent <= path.back().tli) {
            fail("timeline " + std::to_string(parent) + " does not follow timeline " +
                 std::to_string(path.back().tli) + " (timelines must increase)");
        }
        if (switchpoint < previous_end) {
            fail("switch point " + format_lsn(switchpoint) + " is before the previous one, " +
                 format_lsn(previous_end));
        }
        path.push_back(TimelineRange{parent, previous_end, switchpoint});
        previous_end = switchpoint;
        rest = trim_left(rest);
        while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) {
            rest.remove_suffix(1);
        }
        reason = rest;
    }
    TimelineHistory history(target, std::move(path));
    history.switch_reason_ = std::move(reason);
    return history;
}

bool TimelineHistory::on_path(std::uint32_t tli) const noexcept {
    return range_of(tli).has_value();
}

std::optional<TimelineRange> TimelineHistory::range_of(std::uint32_t tli) const noexcept {
    for (const TimelineRange& r : path_) {
        if (r.tli == tli) return r;
    }
    return std::nullopt;
}

std::uint32_t TimelineHistory::timeline_of(Lsn lsn) const noexcept {
    for (const TimelineRange& r : path_) {
        if (lsn >= r.begin && (!r.end || lsn < *r.end)) return r.tli;
    }
    return target_;  // unreachable: the ranges cover [0, infinity)
}

SegmentPlacement TimelineHistory::place_segment(std::uint32_t tli, std::uint64_t segno,
                                                std::uint64_t seg_size) const {
    std::optional<TimelineRange> range = range_of(tli);
    if (!range) return SegmentPlacement::kUnrelated;
    Lsn start = segno_to_lsn(segno, seg_size);
    if (range->end && start >= *range->end) return SegmentPlacement::kDiverged;
    return SegmentPlacement::kOnPath;
}

void check_small_wal_file(const WalName& name, std::uint64_t size, std::string_view content) {
    const bool history = name.kind == WalKind::kHistory;
    auto refuse = [](const std::string& problem) {
        throw Error(ErrorCode::kInvalidHistory, problem);
    };
    if (size == 0) refuse("the file is empty");
    if (size > kMaxSmallWalFileSize) {
        refuse("the file has " + std::to_string(size) + " bytes, more than a " +
               (history ? "timeline" : "backup") + " history file can have (" +
               std::to_string(kMaxSmallWalFileSize) + ")");
    }
    if (history && TimelineHistory::parse(name.tli, content).path().size() < 2) {
        refuse("the timeline history names no parent timeline (only comments or blank lines)");
    }
}

}  // namespace walferry
