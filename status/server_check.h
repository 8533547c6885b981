// --check: each configured [[server]] asked over libpq (pg_stat_archiver, its current WAL
// file) and each destination's lag behind it; with --switch, pg_switch_wal() and a bounded wait
// until the closed segment is in every destination.
#pragma once

#include <cstdint>
#include <vector>

#include "cli/config.h"
#include "cli/open_store.h"
#include "status/status_report.h"

namespace walferry {

struct CheckOptions {
    bool switch_wal = false;
    std::int64_t timeout_seconds = 60;
};

// How far a destination that holds `last` (nullopt: nothing) of the server's timeline is behind
// the current WAL file `current` at `current_lsn`; `last_mtime` dates that segment. Pure.
DestinationLag lag_behind(const std::string& destination, const WalName& current, Lsn current_lsn,
                          const std::optional<std::uint64_t>& last, std::int64_t last_mtime,
                          std::uint64_t seg_size, std::int64_t now);

std::vector<ServerReport> check_servers(const std::vector<ServerSpec>& servers,
                                        const StatusReport& report,
                                        const std::vector<Destination>& destinations,
                                        const StoreOpener& open, const CheckOptions& options);

}  // namespace walferry
