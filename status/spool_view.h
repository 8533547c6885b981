// This host's spool as walferry-status sees it, read only (archive/spool_layout.h): each
// destination's backlog, the destinations push leaves alone, prefetch entries, damage notes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status/status_report.h"
#include "store/destination.h"

namespace walferry {

SpoolReport read_spool(const std::string& dir, const std::vector<Destination>& destinations,
                       std::int64_t now);

}  // namespace walferry
