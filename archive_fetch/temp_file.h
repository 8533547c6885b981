// The temporary files walferry-fetch writes next to their final name: "<target>.walferry-tmp."
// and six random characters, renamed into place only when complete (base/durable_file.h), so no
// reader ever sees a partial file under the final name.
#pragma once

#include <string>
#include <string_view>

#include "base/durable_file.h"

namespace walferry {

// The TempName of a file to become `target`: "<target>.walferry-tmp.XXXXXX", private (0600).
// With `target` a path (TempFile in AT_FDCWD), also removed by SIGTERM, SIGINT, SIGQUIT or SIGHUP
// (durable_file.h); with a name in a directory fd (the prefetch worker's spool) not: the next
// worker removes what a killed one left there (PrefetchSpool::remove_leftovers).
TempName temp_name_next_to(const std::string& target);

// Temp files left next to `target` by a call that was killed (SIGKILL, a crash, a power loss):
// in the directory of `target`, every name "<anything>.walferry-tmp.XXXXXX" (six letters and
// digits) that is a regular file of this user, untouched for kStaleTempMinutes (a live call
// writes its temp file continuously, and its waits are bounded by the sources' timeouts), is
// removed. Never fails: litter must not fail a call.
void remove_stale_temps_next_to(const std::string& target) noexcept;
inline constexpr int kStaleTempMinutes = 15;

// True if `name` has the form of such a temp file's name (exposed for tests).
bool is_temp_file_name(std::string_view name) noexcept;

}  // namespace walferry
