#include "status/server_check.h"

#include <chrono>
#include <thread>

#include "base/error.h"
#include "pg/pg_connection.h"
#include "wal/lsn.h"

namespace walferry {

namespace {

std::optional<std::int64_t> seconds(const std::string& text) {
    if (text.empty()) return std::nullopt;
    try {
        return std::stoll(text);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

WalName wal_file(PgConnection& server, const std::string& text) {
    WalName name;
    if (!try_parse_wal_name(text, name) || name.kind != WalKind::kSegment) {
        server.fail("unexpected WAL file name \"" + text + "\"");
    }
    return name;
}

void ask_archiver(PgConnection& server, ServerReport& s) {
    const std::vector<std::string> a = server.row(
        "SELECT coalesce(last_archived_wal, ''), "
        "coalesce(extract(epoch FROM now() - last_archived_time)::bigint::text, ''), "
        "coalesce(last_failed_wal, ''), "
        "coalesce(extract(epoch FROM now() - last_failed_time)::bigint::text, ''), "
        "failed_count::text FROM pg_stat_archiver");
    s.last_archived_wal = a[0];
    s.last_archived_age_seconds = seconds(a[1]);
    s.last_failed_wal = a[2];
    s.last_failed_age_seconds = seconds(a[3]);
    s.failed_count = seconds(a[4]).value_or(0);
}

// The newest segment a destination holds on `tli` or, when none, on a timeline below it.
std::pair<std::optional<std::uint64_t>, std::int64_t> newest_held(const DestinationReport& d,
                                                                  std::uint32_t tli) {
    for (auto it = d.contents.timelines.rbegin(); it != d.contents.timelines.rend(); ++it) {
        if (it->first <= tli && it->second.last) return {it->second.last, it->second.newest_mtime};
    }
    return {std::nullopt, 0};
}

void wait_for_switch(ServerReport& s, const std::vector<Destination>& destinations,
                     const StatusReport& report, const StoreOpener& open,
                     std::int64_t timeout_seconds) {
    const std::string stored = *s.switched_to + ".zst";
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    for (std::size_t i = 0; i < destinations.size(); ++i) {
        if (report.destinations[i].unreachable) {
            s.switch_lacking.push_back(destinations[i].name);
            continue;
        }
        bool found = false;
        try {
            std::unique_ptr<Store> store = open(destinations[i]);
            while (!(found = store->stat(stored, 0).has_value()) &&
                   std::chrono::steady_clock::now() < deadline) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        } catch (const Error&) {
            found = false;
        }
        if (!found) s.switch_lacking.push_back(destinations[i].name);
    }
}

ServerReport check_server(const ServerSpec& spec, const StatusReport& report,
                          const std::vector<Destination>& destinations, const StoreOpener& open,
                          const CheckOptions& options) {
    ServerReport s;
    s.name = spec.name;
    try {
        PgConnection server(spec.name, spec.conninfo, "walferry-status");
        s.in_recovery = server.row("SELECT pg_is_in_recovery()::text")[0] == "true";
        ask_archiver(server, s);
        if (s.in_recovery) return s;  // a standby has no current WAL file of its own to archive
        const std::vector<std::string> current =
            server.row("SELECT pg_walfile_name(pg_current_wal_lsn()), pg_current_wal_lsn()::text");
        s.current_wal = current[0];
        const WalName name = wal_file(server, current[0]);
        const Lsn lsn = parse_lsn(current[1]);
        for (const DestinationReport& d : report.destinations) {
            if (d.unreachable) continue;
            auto [last, mtime] = newest_held(d, name.tli);
            s.lags.push_back(
                lag_behind(d.name, name, lsn, last, mtime, report.seg_size, report.now));
        }
        if (options.switch_wal) {
            s.switched_to =
                wal_file(server, server.row("SELECT pg_walfile_name(pg_switch_wal())")[0])
                    .wal_file_name();
            wait_for_switch(s, destinations, report, open, options.timeout_seconds);
        }
    } catch (const Error& e) {
        s.error = e.what();
    }
    return s;
}

}  // namespace

DestinationLag lag_behind(const std::string& destination, const WalName& current, Lsn current_lsn,
                          const std::optional<std::uint64_t>& last, std::int64_t last_mtime,
                          std::uint64_t seg_size, std::int64_t now) {
    DestinationLag lag;
    lag.destination = destination;
    const std::uint64_t current_segno = current.segno(seg_size);
    // Everything before the segment being written should be archived.
    const std::uint64_t wanted_from = last ? *last + 1 : 0;
    if (last) lag.last = segment_file(current.tli, *last, seg_size);
    if (wanted_from >= current_segno) return lag;
    lag.segments = static_cast<std::int64_t>(current_segno - wanted_from);
    lag.bytes = current_lsn.value - segno_to_lsn(wanted_from, seg_size).value;
    lag.seconds = last ? std::max<std::int64_t>(0, now - last_mtime) : 0;
    return lag;
}

std::vector<ServerReport> check_servers(const std::vector<ServerSpec>& servers,
                                        const StatusReport& report,
                                        const std::vector<Destination>& destinations,
                                        const StoreOpener& open, const CheckOptions& options) {
    if (servers.empty()) {
        throw Error(ErrorCode::kConfig, "--check: no [[server]] in the config to ask");
    }
    std::vector<ServerReport> out;
    for (const ServerSpec& spec : servers) {
        out.push_back(check_server(spec, report, destinations, open, options));
    }
    return out;
}

}  // namespace walferry
