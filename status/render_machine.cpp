// The outputs for programs: JSON (schema: man/walferry-status.h2m, [json output]; keys are
// stable, new ones only added) and the Prometheus text exposition format.
#include <cstdio>

#include "status/render.h"
#include "wal/lsn.h"

namespace walferry {

namespace {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c >= 0x7f) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\u%04x", c);
                    out += hex;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

template <typename T>
std::string json_optional(const std::optional<T>& v) {
    if (!v) return "null";
    if constexpr (std::is_same_v<T, std::string>) {
        return json_string(*v);
    } else {
        return std::to_string(*v);
    }
}

template <typename Items, typename Each>
std::string json_array(const Items& items, Each each) {
    std::string out = "[";
    for (const auto& item : items) out += (out.size() > 1 ? "," : "") + each(item);
    return out + "]";
}

std::string json_timeline(const TimelineSummary& t, std::uint64_t seg_size, std::int64_t now) {
    auto name = [&](const std::optional<std::uint64_t>& s) {
        return s ? json_string(segment_file(t.tli, *s, seg_size)) : std::string("null");
    };
    return "{\"timeline\":" + std::to_string(t.tli) + ",\"first\":" + name(t.first) +
           ",\"last\":" + name(t.last) + ",\"segments\":" + std::to_string(t.segments) +
           ",\"stored_bytes\":" + std::to_string(t.stored_bytes) +
           ",\"raw_bytes\":" + std::to_string(t.segments * seg_size) +
           ",\"newest_segment_age_seconds\":" +
           (t.newest_mtime ? std::to_string(now - t.newest_mtime) : "null") +
           ",\"partial\":" + json_array(t.partials, json_string) +
           ",\"diverged\":" + std::to_string(t.diverged) +
           ",\"history\":" + (t.has_history ? "true" : "false") + "}";
}

std::string json_consumer(const ConsumerReport& c, const StatusReport& r) {
    const bool stale = consumer_stale(c.updated, r.now, r.thresholds.stale_consumer_seconds);
    return "{\"name\":" + json_string(c.name) + ",\"cutoff\":" + json_string(c.cutoff) +
           ",\"updated\":" + std::to_string(c.updated) +
           ",\"age_seconds\":" + std::to_string(r.now - c.updated) +
           ",\"stale\":" + (stale ? "true" : "false") + "}";
}

std::string json_destination(const DestinationReport& d, const StatusReport& r) {
    std::string out = "{\"name\":" + json_string(d.name) + ",\"url\":" + json_string(d.url) +
                      ",\"reachable\":" + (d.unreachable ? "false" : "true") +
                      ",\"error\":" + json_optional(d.unreachable) + ",\"info\":";
    out += d.info ? "{\"system_identifier\":" + json_string(std::to_string(d.info->sysid)) +
                        ",\"pg_major\":" + std::to_string(d.info->pg_major) +
                        ",\"wal_segment_size\":" + std::to_string(d.info->seg_size) + "}"
                  : "null";
    const ArchiveContents& c = d.contents;
    out += ",\"files\":" + std::to_string(c.files) +
           ",\"stored_bytes\":" + std::to_string(c.stored_bytes) + ",\"timelines\":" +
           json_array(c.timelines,
                      [&](const auto& e) { return json_timeline(e.second, r.seg_size, r.now); }) +
           ",\"gaps\":" + json_array(c.gaps, [&](const Gap& g) {
               return "{\"timeline\":" + std::to_string(g.tli) +
                      ",\"from\":" + json_string(segment_file(g.tli, g.from, r.seg_size)) +
                      ",\"to\":" + json_string(segment_file(g.tli, g.to, r.seg_size)) +
                      ",\"segments\":" + std::to_string(g.to - g.from + 1) + "}";
           });
    out += ",\"missing_histories\":" +
           json_array(c.missing_histories, [](std::uint32_t t) { return std::to_string(t); }) +
           ",\"unknown_files\":" + json_array(c.unknown_files, json_string) +
           ",\"missing\":" + json_array(d.missing, json_string) +
           ",\"history_errors\":" + json_array(d.history_errors, json_string) + ",\"verify\":";
    out += d.verify ? "{\"files\":" + std::to_string(d.verify->files) +
                          ",\"stored_bytes\":" + std::to_string(d.verify->stored_bytes) +
                          ",\"damaged\":" +
                          json_array(d.verify->damaged,
                                     [](const DamagedFile& f) {
                                         return "{\"file\":" + json_string(f.file) +
                                                ",\"message\":" + json_string(f.message) + "}";
                                     }) +
                          "}"
                    : "null";
    out += ",\"consumers\":" + json_array(d.consumers, [&](const ConsumerReport& consumer) {
               return json_consumer(consumer, r);
           });
    out += ",\"consumers_error\":" + json_optional(d.consumers_error);
    return out + "}";
}

std::string json_spool(const SpoolReport& s) {
    return "{\"dir\":" + json_string(s.dir) + ",\"exists\":" + (s.exists ? "true" : "false") +
           ",\"backlog\":" +
           json_array(s.backlogs,
                      [](const BacklogReport& b) {
                          return "{\"destination\":" + json_string(b.destination) +
                                 ",\"files\":" + std::to_string(b.files) +
                                 ",\"bytes\":" + std::to_string(b.bytes) +
                                 ",\"oldest_age_seconds\":" + json_optional(b.oldest_age_seconds) +
                                 "}";
                      }) +
           ",\"left_alone\":" +
           json_array(s.left_alone,
                      [](const auto& e) {
                          return "{\"destination\":" + json_string(e.first) +
                                 ",\"failed_seconds_ago\":" + std::to_string(e.second) + "}";
                      }) +
           ",\"prefetch_entries\":" + std::to_string(s.prefetch_entries) +
           ",\"damage_notes\":" + json_array(s.damage_notes, json_string) + "}";
}

std::string json_server(const ServerReport& s) {
    auto text = [](const std::string& v) { return v.empty() ? "null" : json_string(v); };
    return "{\"name\":" + json_string(s.name) + ",\"error\":" + json_optional(s.error) +
           ",\"in_recovery\":" + (s.in_recovery ? "true" : "false") +
           ",\"current_wal\":" + text(s.current_wal) +
           ",\"last_archived_wal\":" + text(s.last_archived_wal) +
           ",\"last_archived_age_seconds\":" + json_optional(s.last_archived_age_seconds) +
           ",\"last_failed_wal\":" + text(s.last_failed_wal) +
           ",\"last_failed_age_seconds\":" + json_optional(s.last_failed_age_seconds) +
           ",\"failed_count\":" + std::to_string(s.failed_count) + ",\"lag\":" +
           json_array(s.lags,
                      [](const DestinationLag& l) {
                          return "{\"destination\":" + json_string(l.destination) +
                                 ",\"last\":" + json_optional(l.last) +
                                 ",\"segments\":" + std::to_string(l.segments) +
                                 ",\"bytes\":" + std::to_string(l.bytes) +
                                 ",\"seconds\":" + std::to_string(l.seconds) + "}";
                      }) +
           ",\"switched\":" + json_optional(s.switched_to) +
           ",\"switch_lacking\":" + json_array(s.switch_lacking, json_string) + "}";
}

std::string prom_label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Metrics {
  public:
    explicit Metrics(std::ostream& out) : out_(out) {}
    void family(const char* name, const char* help) {
        out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
        name_ = name;
    }
    void sample(const std::string& labels, double value) {
        char v[40];
        std::snprintf(v, sizeof v, "%.17g", value);
        out_ << name_ << (labels.empty() ? "" : "{" + labels + "}") << " " << v << "\n";
    }

  private:
    std::ostream& out_;
    std::string name_;
};

std::string dest_label(const std::string& name) {
    return "destination=\"" + prom_label(name) + "\"";
}

void prometheus_consumers(const StatusReport& r, Metrics& m) {
    auto readable = [](const DestinationReport& d) { return !d.unreachable && !d.consumers_error; };
    m.family("walferry_cleanup_consumers", "Cleanup consumers recorded in a destination.");
    for (const DestinationReport& d : r.destinations) {
        if (readable(d)) m.sample(dest_label(d.name), static_cast<double>(d.consumers.size()));
    }
    m.family("walferry_cleanup_consumers_stale",
             "Cleanup consumers not updated for longer than stale_consumer.");
    for (const DestinationReport& d : r.destinations) {
        if (!readable(d)) continue;
        std::size_t n = 0;
        for (const ConsumerReport& c : d.consumers) {
            n += consumer_stale(c.updated, r.now, r.thresholds.stale_consumer_seconds) ? 1 : 0;
        }
        m.sample(dest_label(d.name), static_cast<double>(n));
    }
    m.family("walferry_cleanup_consumer_age_seconds",
             "Seconds since a cleanup consumer's record was last updated.");
    for (const DestinationReport& d : r.destinations) {
        for (const ConsumerReport& c : d.consumers) {
            m.sample(dest_label(d.name) + ",consumer=\"" + prom_label(c.name) + "\"",
                     static_cast<double>(r.now - c.updated));
        }
    }
    m.family("walferry_cleanup_consumers_unreadable",
             "1 if a reachable destination's cleanup consumer records cannot be read.");
    for (const DestinationReport& d : r.destinations) {
        if (!d.unreachable) m.sample(dest_label(d.name), d.consumers_error ? 1.0 : 0.0);
    }
}

void prometheus_destinations(const StatusReport& r, Metrics& m) {
    const auto& ds = r.destinations;
    auto each = [&](const char* name, const char* help, auto value, bool reachable_only = true) {
        m.family(name, help);
        for (const DestinationReport& d : ds) {
            if (reachable_only && d.unreachable) continue;
            m.sample(dest_label(d.name), static_cast<double>(value(d)));
        }
    };
    each(
        "walferry_destination_up", "1 if the destination could be listed.",
        [](const DestinationReport& d) { return d.unreachable ? 0 : 1; }, false);
    m.family("walferry_last_segment_age_seconds", "Age of the newest segment a destination holds.");
    for (const DestinationReport& d : ds) {
        if (d.unreachable || d.contents.newest_segment_mtime == 0) continue;
        m.sample(dest_label(d.name), static_cast<double>(r.now - d.contents.newest_segment_mtime));
    }
    each("walferry_files", "Files a destination holds.",
         [](const DestinationReport& d) { return d.contents.files; });
    each("walferry_stored_bytes", "Bytes a destination holds.",
         [](const DestinationReport& d) { return d.contents.stored_bytes; });
    each("walferry_gaps", "Segments missing inside a timeline's valid range.",
         [](const DestinationReport& d) {
             std::uint64_t n = 0;
             for (const Gap& g : d.contents.gaps) n += g.to - g.from + 1;
             return n;
         });
    each("walferry_missing_files", "Files another destination holds and this one lacks.",
         [](const DestinationReport& d) { return d.missing.size(); });
    m.family("walferry_damaged_files", "Damaged stored files found by --verify.");
    for (const DestinationReport& d : ds) {
        if (d.verify) m.sample(dest_label(d.name), static_cast<double>(d.verify->damaged.size()));
    }
    prometheus_consumers(r, m);
    m.family("walferry_timeline_segments", "Segments a destination holds per timeline.");
    for (const DestinationReport& d : ds) {
        for (const auto& [tli, t] : d.contents.timelines) {
            m.sample(dest_label(d.name) + ",timeline=\"" + std::to_string(tli) + "\"",
                     static_cast<double>(t.segments));
        }
    }
}

void prometheus_spool(const SpoolReport& s, Metrics& m) {
    m.family("walferry_backlog_files", "Files waiting in this host's backlog for a destination.");
    for (const BacklogReport& b : s.backlogs) {
        m.sample(dest_label(b.destination), static_cast<double>(b.files));
    }
    m.family("walferry_backlog_bytes", "Bytes waiting in this host's backlog for a destination.");
    for (const BacklogReport& b : s.backlogs) {
        m.sample(dest_label(b.destination), static_cast<double>(b.bytes));
    }
    m.family("walferry_backlog_oldest_age_seconds", "Age of the oldest backlog entry.");
    for (const BacklogReport& b : s.backlogs) {
        if (b.oldest_age_seconds) {
            m.sample(dest_label(b.destination), static_cast<double>(*b.oldest_age_seconds));
        }
    }
    m.family("walferry_prefetch_entries", "Segments waiting in this host's prefetch spool.");
    m.sample("", static_cast<double>(s.prefetch_entries));
}

void prometheus_servers(const std::vector<ServerReport>& servers, Metrics& m) {
    auto lag = [&](const char* name, const char* help, auto value) {
        m.family(name, help);
        for (const ServerReport& s : servers) {
            for (const DestinationLag& l : s.lags) {
                m.sample("server=\"" + prom_label(s.name) + "\"," + dest_label(l.destination),
                         static_cast<double>(value(l)));
            }
        }
    };
    lag("walferry_lag_segments", "Segments a destination lacks before the server's current one.",
        [](const DestinationLag& l) { return l.segments; });
    lag("walferry_lag_bytes", "WAL bytes a destination lacks behind the server's current LSN.",
        [](const DestinationLag& l) { return l.bytes; });
    lag("walferry_lag_seconds", "Age of the newest segment of a lagging destination.",
        [](const DestinationLag& l) { return l.seconds; });
    m.family("walferry_archiver_failed_count", "pg_stat_archiver.failed_count of a server.");
    for (const ServerReport& s : servers) {
        if (!s.error) {
            m.sample("server=\"" + prom_label(s.name) + "\"", static_cast<double>(s.failed_count));
        }
    }
}

}  // namespace

void render_json(const StatusReport& r, std::ostream& out) {
    out << "{\"format\":1,\"status\":" << json_string(level_name(r.level()))
        << ",\"exit_status\":" << static_cast<int>(r.level()) << ",\"time\":" << r.now
        << ",\"wal_segment_size\":" << r.seg_size
        << ",\"raw_bytes_source\":" << json_string(r.raw_bytes_source)
        << ",\"stale_consumer_seconds\":" << r.thresholds.stale_consumer_seconds
        << ",\"destinations\":"
        << json_array(r.destinations,
                      [&](const DestinationReport& d) { return json_destination(d, r); })
        << ",\"timelines\":"
        << json_array(
               r.tree,
               [](const auto& e) {
                   const TimelineNode& n = e.second;
                   return "{\"timeline\":" + std::to_string(n.tli) +
                          ",\"parent\":" + json_optional(n.parent) + ",\"switch_point\":" +
                          (n.switch_point ? json_string(format_lsn(*n.switch_point)) : "null") +
                          ",\"reason\":" + json_string(n.reason) + "}";
               })
        << ",\"spool\":" << (r.spool ? json_spool(*r.spool) : "null")
        << ",\"servers\":" << json_array(r.servers, json_server) << ",\"findings\":"
        << json_array(r.findings,
                      [](const Finding& f) {
                          return "{\"level\":" + json_string(level_name(f.level)) +
                                 ",\"destination\":" + json_string(f.destination) +
                                 ",\"message\":" + json_string(f.message) + "}";
                      })
        << "}\n";
}

void render_prometheus(const StatusReport& r, std::ostream& out) {
    Metrics m(out);
    m.family("walferry_status", "Overall status: 0 OK, 1 WARNING, 2 CRITICAL.");
    m.sample("", static_cast<double>(r.level()));
    prometheus_destinations(r, m);
    if (r.spool && r.spool->exists) prometheus_spool(*r.spool, m);
    if (!r.servers.empty()) prometheus_servers(r.servers, m);
}

}  // namespace walferry
