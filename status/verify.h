// --verify: every stored file of every reachable destination read whole and checked as fetch
// checks a copy (archive/checked_reader.h: container, size, SHA-256, name, WAL page header) and,
// for segments, the system identifier against the archive's walferry.info. One worker per core,
// each with its own store from the opener; a progress bar on stderr only when it is a terminal.
#pragma once

#include <vector>

#include "cli/open_store.h"
#include "status/status_report.h"

namespace walferry {

// Fills each reachable destination's `verify`. `jobs` 0: one worker per core.
void verify_destinations(StatusReport& report, const std::vector<Destination>& destinations,
                         const StoreOpener& open, int jobs);

}  // namespace walferry
