// walferry-push: orchestration of one archive_command call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/open_store.h"

namespace walferry {

struct PushOptions {
    std::string wal_path;                   // %p; empty with drain
    bool drain = false;                     // only send the spool's backlog
    std::vector<std::string> destinations;  // positional; replace the config's when given
    std::optional<std::string> config_path;
    std::optional<int> level;
    bool verbose = false;
};

// One archive_command call: the backlog first, then %p (and the look-ahead batch) to every
// destination in parallel, one thread and one store (session) each; required = N puts what
// failed destinations missed into the backlog. With `drain`, only the backlog is sent. Every
// destination's store comes from `opener` (open_store; an in-memory one in tests).
// Returns the exit status; throws Error for failures (mapped by main).
int run_push(const PushOptions& options, const StoreOpener& opener);

}  // namespace walferry
