// Showing untrusted bytes (stored metadata, names from the command line or a remote listing)
// in messages without letting them break the line or the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace walferry {

// Printable ASCII as is, everything else (and '"' and '\\') as \xNN; at most `max_bytes` of
// `raw` are shown, followed by "..." when cut.
std::string escape_bytes(std::string_view raw, std::size_t max_bytes = 300);

}  // namespace walferry
