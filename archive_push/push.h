// walferry-push: orchestration of one archive_command call.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace walferry {

struct PushOptions {
    std::string wal_path;                   // %p
    std::vector<std::string> destinations;  // positional; replace the config's when given
    std::optional<std::string> config_path;
    std::optional<int> level;
    bool verbose = false;
};

// Returns the exit status; throws Error for failures (mapped by main).
int run_push(const PushOptions& options);

}  // namespace walferry
