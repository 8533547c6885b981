#include "status/status_report.h"

#include <algorithm>

namespace walferry {

std::string_view level_name(Level level) noexcept {
    switch (level) {
        case Level::kOk:
            return "OK";
        case Level::kWarning:
            return "WARNING";
        case Level::kCritical:
            return "CRITICAL";
    }
    return "UNKNOWN";
}

Level StatusReport::level() const noexcept {
    Level worst = Level::kOk;
    for (const Finding& f : findings) worst = std::max(worst, f.level);
    return worst;
}

bool consumer_stale(std::int64_t updated, std::int64_t now, std::int64_t limit) noexcept {
    return limit > 0 && now - updated > limit;
}

namespace {

std::string gap_text(const Gap& g, std::uint64_t seg_size) {
    const std::uint64_t n = g.to - g.from + 1;
    std::string text =
        "gap on timeline " + std::to_string(g.tli) + ": " + segment_file(g.tli, g.from, seg_size);
    if (n > 1) text += " .. " + segment_file(g.tli, g.to, seg_size);
    return text + " missing (" + std::to_string(n) + (n == 1 ? " segment)" : " segments)");
}

void assess_consumers(const DestinationReport& d, StatusReport& r) {
    if (d.consumers_error) {
        r.findings.push_back(Finding{
            Level::kWarning, d.name,
            "cleanup consumers cannot be read, so no cleanup of it runs: " + *d.consumers_error});
    }
    const std::int64_t limit = r.thresholds.stale_consumer_seconds;
    for (const ConsumerReport& c : d.consumers) {
        if (!consumer_stale(c.updated, r.now, limit)) continue;
        r.findings.push_back(Finding{
            Level::kWarning, d.name,
            "cleanup consumer \"" + c.name + "\" is stale: last updated " +
                std::to_string(r.now - c.updated) + " s ago (stale_consumer " +
                std::to_string(limit) + " s), still holding back cleanup from " + c.cutoff +
                "; if it is gone: walferry-cleanup --forget-consumer " + c.name + " " + d.url});
    }
}

void assess_destination(const DestinationReport& d, StatusReport& r) {
    auto add = [&](Level level, std::string message) {
        r.findings.push_back(Finding{level, d.name, std::move(message)});
    };
    if (d.unreachable) {
        add(Level::kCritical, "unreachable: " + *d.unreachable);
        return;
    }
    if (!d.info && d.contents.files > 0) {
        add(Level::kCritical,
            "no walferry.info: fetch cannot vouch that a file missing here was never archived");
    }
    for (const Gap& g : d.contents.gaps) add(Level::kCritical, gap_text(g, r.seg_size));
    for (std::uint32_t tli : d.contents.missing_histories) {
        add(Level::kCritical, "timeline " + std::to_string(tli) + " has no .history file");
    }
    for (const std::string& e : d.history_errors) add(Level::kCritical, e);
    if (!d.missing.empty()) {
        add(Level::kWarning, std::to_string(d.missing.size()) +
                                 " file(s) held by another destination are missing here, first " +
                                 d.missing.front());
    }
    if (d.verify) {
        for (const DamagedFile& f : d.verify->damaged) add(Level::kCritical, f.message);
    }
    assess_consumers(d, r);
}

void assess_server(const ServerReport& s, StatusReport& r) {
    auto add = [&](Level level, std::string message) {
        r.findings.push_back(Finding{level, "", "server " + s.name + ": " + std::move(message)});
    };
    if (s.error) {
        add(Level::kCritical, "cannot be asked: " + *s.error);
        return;
    }
    if (s.last_failed_age_seconds && (!s.last_archived_age_seconds ||
                                      *s.last_failed_age_seconds < *s.last_archived_age_seconds)) {
        add(Level::kWarning, "archiving of " + s.last_failed_wal + " failed " +
                                 std::to_string(*s.last_failed_age_seconds) +
                                 " s ago, after the last success");
    }
    for (const DestinationLag& lag : s.lags) {
        const std::string text = lag.destination + " is " + std::to_string(lag.segments) +
                                 " segment(s) behind " + s.current_wal;
        if (lag.segments > r.thresholds.crit_lag) {
            add(Level::kCritical,
                text + " (crit_lag " + std::to_string(r.thresholds.crit_lag) + ")");
        } else if (lag.segments > r.thresholds.warn_lag) {
            add(Level::kWarning,
                text + " (warn_lag " + std::to_string(r.thresholds.warn_lag) + ")");
        }
    }
    for (const std::string& d : s.switch_lacking) {
        add(Level::kCritical, d + " did not receive " + s.switched_to.value_or("?") + " in time");
    }
}

}  // namespace

void assess(StatusReport& r) {
    r.findings.clear();
    for (const DestinationReport& d : r.destinations) assess_destination(d, r);
    if (r.spool) {
        for (const BacklogReport& b : r.spool->backlogs) {
            if (b.files == 0) continue;
            r.findings.push_back(Finding{Level::kWarning, b.destination,
                                         "backlog of " + std::to_string(b.files) + " file(s), " +
                                             std::to_string(b.bytes) + " bytes, oldest " +
                                             std::to_string(b.oldest_age_seconds.value_or(0)) +
                                             " s old"});
        }
        for (const auto& [name, age] : r.spool->left_alone) {
            r.findings.push_back(
                Finding{Level::kWarning, name,
                        "left alone by push after a failure " + std::to_string(age) + " s ago"});
        }
        for (const std::string& note : r.spool->damage_notes) {
            r.findings.push_back(Finding{Level::kWarning, "", note});
        }
    }
    for (const ServerReport& s : r.servers) assess_server(s, r);
}

}  // namespace walferry
