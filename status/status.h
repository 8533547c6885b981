// One walferry-status call: list every destination once, read its .history files, look at this
// host's spool, optionally ask the servers (--check) and read every stored file (--verify), then
// print what was found and return the monitoring-plugin status (0 OK, 1 WARNING, 2 CRITICAL).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/open_store.h"
#include "status/status_report.h"

namespace walferry {

enum class StatusFormat { kText, kJson, kPrometheus };

struct StatusOptions {
    std::optional<std::string> config_path;
    std::vector<std::string> destinations;  // replace the config's
    bool verify = false;
    bool check = false;
    bool switch_wal = false;  // --check --switch
    StatusFormat format = StatusFormat::kText;
    std::optional<std::int64_t> warn_lag;
    std::optional<std::int64_t> crit_lag;
    std::optional<std::int64_t> switch_timeout_seconds;
    std::optional<std::int64_t> stale_consumer_seconds;
    int jobs = 0;  // --verify workers; 0: one per core
};

// Lists and reads the destinations through `open` (every backend alike) into a report.
// `now` is the unix time ages are measured from.
StatusReport collect_status(const std::vector<Destination>& destinations, const StoreOpener& open,
                            std::int64_t now);

int run_status(const StatusOptions& options, const StoreOpener& open);

}  // namespace walferry
