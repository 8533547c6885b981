// The three outputs of walferry-status: aligned text for a person, JSON (schema in the man page,
// keys stable), and the Prometheus text exposition format (node_exporter's textfile collector).
#pragma once

#include <ostream>

#include "status/status_report.h"

namespace walferry {

void render_text(const StatusReport& report, std::ostream& out);
void render_json(const StatusReport& report, std::ostream& out);
void render_prometheus(const StatusReport& report, std::ostream& out);

// The timeline tree as text lines: a chain of single children stays in one column
// ("1", "└─ 2 from 1 at 0/5000060: reason", ...), only a branch indents.
std::vector<std::string> tree_lines(const std::map<std::uint32_t, TimelineNode>& tree);

}  // namespace walferry
