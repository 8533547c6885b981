// The text output: one screen for a healthy archive, aligned columns, problems last.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "base/human_units.h"
#include "status/render.h"
#include "wal/lsn.h"

namespace walferry {

namespace {

std::string human_age(std::int64_t seconds) {
    if (seconds < 120) return std::to_string(seconds) + "s";
    if (seconds < 7200) return std::to_string(seconds / 60) + "m";
    if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
    return std::to_string(seconds / 86400) + "d";
}

// Rows printed with every column as wide as its widest cell.
class Table {
  public:
    explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    void print(std::ostream& out, const std::string& indent = "  ") const {
        std::vector<std::size_t> width;
        for (const auto& row : rows_) {
            width.resize(std::max(width.size(), row.size()));
            for (std::size_t i = 0; i < row.size(); ++i) {
                width[i] = std::max(width[i], row[i].size());
            }
        }
        for (const auto& row : rows_) {
            std::string line = indent;
            for (std::size_t i = 0; i < row.size(); ++i) {
                line += row[i];
                if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
            }
            out << line << "\n";
        }
    }

  private:
    std::vector<std::vector<std::string>> rows_;
};

std::string node_label(const TimelineNode& n) {
    std::string label = std::to_string(n.tli);
    if (!n.parent) return label;
    label += "  from " + std::to_string(*n.parent);
    if (n.switch_point) label += " at " + format_lsn(*n.switch_point);
    if (!n.reason.empty()) label += " (" + n.reason + ")";
    return label;
}

// A node's children under `indent`: every branch but the newest drawn in its own column, the
// newest one continuing in this column, so that a chain 1 -> 2 -> ... -> 13 stays flat.
void draw_children(const std::map<std::uint32_t, TimelineNode>& tree, std::uint32_t tli,
                   const std::string& indent, std::vector<std::string>& lines) {
    for (;;) {
        const TimelineNode& n = tree.at(tli);
        if (n.children.empty()) return;
        for (std::size_t i = 0; i + 1 < n.children.size(); ++i) {
            lines.push_back(indent + "├─ " + node_label(tree.at(n.children[i])));
            draw_children(tree, n.children[i], indent + "│  ", lines);
        }
        tli = n.children.back();
        lines.push_back(indent + "└─ " + node_label(tree.at(tli)));
    }
}

void print_destinations(const StatusReport& r, std::ostream& out) {
    out << "destinations\n";
    Table t({"name", "state", "files", "stored", "newest segment", "age", "url"});
    for (const DestinationReport& d : r.destinations) {
        if (d.unreachable) {
            t.add({d.name, "UNREACHABLE", "-", "-", "-", "-", d.url});
            continue;
        }
        std::string newest = "-";
        for (const auto& [tli, tl] : d.contents.timelines) {
            if (tl.last) newest = segment_file(tli, *tl.last, r.seg_size);
        }
        const std::int64_t mtime = d.contents.newest_segment_mtime;
        t.add({d.name, d.info ? "ok" : "no walferry.info", std::to_string(d.contents.files),
               human_bytes(d.contents.stored_bytes), newest,
               mtime ? human_age(std::max<std::int64_t>(0, r.now - mtime)) : "-", d.url});
    }
    t.print(out);
    for (const DestinationReport& d : r.destinations) {
        if (d.info) {
            out << "  " << d.name << ": system identifier " << d.info->sysid << ", PostgreSQL "
                << d.info->pg_major << ", wal_segment_size " << human_bytes(d.info->seg_size)
                << "\n";
            break;
        }
    }
}

void print_timelines(const StatusReport& r, std::ostream& out) {
    out << "\ntimelines (raw = wal_segment_size x segments)\n";
    Table t(
        {"tl", "destination", "first", "last", "segments", "stored", "raw", "partial", "diverged"});
    for (const DestinationReport& d : r.destinations) {
        for (const auto& [tli, tl] : d.contents.timelines) {
            t.add({std::to_string(tli), d.name,
                   tl.first ? segment_file(tli, *tl.first, r.seg_size) : "-",
                   tl.last ? segment_file(tli, *tl.last, r.seg_size) : "-",
                   std::to_string(tl.segments), human_bytes(tl.stored_bytes),
                   human_bytes(tl.segments * r.seg_size), std::to_string(tl.partials.size()),
                   std::to_string(tl.diverged)});
        }
    }
    t.print(out);
    out << "\ntimeline tree\n";
    for (const std::string& line : tree_lines(r.tree)) out << "  " << line << "\n";
}

void print_spool(const SpoolReport& s, std::ostream& out) {
    out << "\nspool " << s.dir << (s.exists ? "" : " (none)") << "\n";
    if (!s.exists) return;
    Table t({"destination", "backlog files", "bytes", "oldest"});
    for (const BacklogReport& b : s.backlogs) {
        t.add({b.destination, std::to_string(b.files), human_bytes(b.bytes),
               b.oldest_age_seconds ? human_age(*b.oldest_age_seconds) : "-"});
    }
    t.print(out);
    for (const auto& [name, age] : s.left_alone) {
        out << "  " << name << ": left alone by push, failed " << human_age(age) << " ago\n";
    }
    out << "  prefetch entries: " << s.prefetch_entries << "\n";
}

// Every destination's cleanup consumers; nothing when no destination has any.
void print_consumers(const StatusReport& r, std::ostream& out) {
    Table t({"destination", "consumer", "cutoff", "updated", "state"});
    bool any = false;
    for (const DestinationReport& d : r.destinations) {
        if (d.consumers_error) {
            t.add({d.name, "-", "-", "-", "UNREADABLE (see below)"});
            any = true;
        }
        for (const ConsumerReport& c : d.consumers) {
            const bool stale =
                consumer_stale(c.updated, r.now, r.thresholds.stale_consumer_seconds);
            t.add({d.name, c.name, c.cutoff,
                   human_age(std::max<std::int64_t>(0, r.now - c.updated)) + " ago",
                   stale ? "STALE" : "ok"});
            any = true;
        }
    }
    if (!any) return;
    out << "\ncleanup consumers";
    if (r.thresholds.stale_consumer_seconds > 0) {
        out << " (stale when not updated for " << human_age(r.thresholds.stale_consumer_seconds)
            << ")";
    }
    out << "\n";
    t.print(out);
}

void print_servers(const StatusReport& r, std::ostream& out) {
    out << "\nservers\n";
    Table t({"server", "role", "current", "last archived", "age", "last failed", "age", "failed"});
    Table lags({"server", "destination", "holds", "lag segments", "bytes", "seconds"});
    for (const ServerReport& s : r.servers) {
        if (s.error) {
            t.add({s.name, "ERROR: " + *s.error});
            continue;
        }
        auto age = [](const std::optional<std::int64_t>& a) { return a ? human_age(*a) : "-"; };
        t.add({s.name, s.in_recovery ? "standby" : "primary",
               s.current_wal.empty() ? "-" : s.current_wal,
               s.last_archived_wal.empty() ? "-" : s.last_archived_wal,
               age(s.last_archived_age_seconds),
               s.last_failed_wal.empty() ? "-" : s.last_failed_wal, age(s.last_failed_age_seconds),
               std::to_string(s.failed_count)});
        for (const DestinationLag& l : s.lags) {
            lags.add({s.name, l.destination, l.last.value_or("-"), std::to_string(l.segments),
                      std::to_string(l.bytes), std::to_string(l.seconds)});
        }
        if (s.switched_to) {
            out << "  " << s.name << ": switched to the next segment after " << *s.switched_to
                << (s.switch_lacking.empty() ? ", now in every destination" : "") << "\n";
        }
    }
    t.print(out);
    lags.print(out);
}

}  // namespace

std::vector<std::string> tree_lines(const std::map<std::uint32_t, TimelineNode>& tree) {
    std::vector<std::string> lines;
    for (const auto& [tli, n] : tree) {
        if (n.parent) continue;
        lines.push_back(node_label(n));
        draw_children(tree, tli, "", lines);
    }
    return lines;
}

void render_text(const StatusReport& r, std::ostream& out) {
    print_destinations(r, out);
    print_timelines(r, out);
    if (r.spool) print_spool(*r.spool, out);
    print_consumers(r, out);
    if (!r.servers.empty()) print_servers(r, out);
    bool verify_heading = false;
    for (const DestinationReport& d : r.destinations) {
        if (!d.verify) continue;
        if (!std::exchange(verify_heading, true)) out << "\nverify\n";
        out << "  " << d.name << ": " << d.verify->files << " files, "
            << human_bytes(d.verify->stored_bytes) << " read, " << d.verify->damaged.size()
            << " damaged\n";
    }
    out << "\n" << level_name(r.level());
    if (r.findings.empty()) {
        out << ": every destination complete, nothing waiting\n";
    } else {
        out << ": " << r.findings.size() << " finding(s)\n";
    }
    for (const Finding& f : r.findings) {
        out << "  " << level_name(f.level) << "  "
            << (f.destination.empty() ? "" : f.destination + ": ") << f.message << "\n";
    }
}

}  // namespace walferry
