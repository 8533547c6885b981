// Sizes as people read them in reports ("1.5 MiB"): walferry-cleanup -d and walferry-status.
#pragma once

#include <cstdint>
#include <string>

namespace walferry {

// "512 B", "1.5 MiB", "3.0 GiB": binary units, one decimal above bytes.
std::string human_bytes(std::uint64_t bytes);

}  // namespace walferry
