// walferry-fetch: orchestration of one restore_command call.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace walferry {

enum class RecoveryMode {
    kAuto,      // standby.signal in the working directory -> standby, else recovery
    kStandby,   // the server will ask again: failures exit 1
    kRecovery,  // targeted recovery / PITR: failures other than "not found" stop recovery (255)
};

struct FetchOptions {
    std::string wal_file;              // %f
    std::string target_path;           // %p
    std::vector<std::string> sources;  // positional; replace the config's when given
    std::optional<std::string> config_path;
    RecoveryMode mode = RecoveryMode::kAuto;
    bool verbose = false;
};

// Decides standby vs recovery for kAuto from the files in `cwd` (PGDATA when PostgreSQL calls us).
RecoveryMode resolve_mode(RecoveryMode requested, const std::string& cwd);

// Returns the exit status; throws Error for failures, which main maps with fetch_exit_code.
int run_fetch(const FetchOptions& options, bool& recovery_mode);

}  // namespace walferry
