// With required = N, a destination that could not be reached is left alone for a while: its
// files go straight to its backlog instead of costing every push a connect or I/O timeout (a
// host that is switched off or behind a dropping firewall answers nothing, so each attempt waits
// the whole timeout, and the archiver falls behind by that much per call). It is tried again
// kRetryUnreachableAfterS seconds after the last failure, or at once by `walferry-push --drain`.
// With required = "all" every destination is always tried: the push fails anyway without it.
//
// The note is a file <spool>/unreachable/<destination key> whose mtime is the last failure;
// writing or removing it is best effort (a lost note only costs one more timeout).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive_push/spool.h"

namespace walferry {

// Seconds since each destination was last found unreachable (nullopt: it answered last time).
std::vector<std::optional<std::int64_t>> unreachable_ages(const Spool& spool,
                                                          const std::vector<std::string>& names);
void note_unreachable(const Spool& spool, const std::string& name);
void note_reachable(const Spool& spool, const std::string& name);

// Which destinations a push leaves alone: those found unreachable less than
// kRetryUnreachableAfterS ago, but only while the others (those that did not fail recently) are
// at least `required`. Otherwise none: every destination is tried, in parallel, since any one of
// those that failed may be up again and make the quorum. Pure.
std::vector<bool> destinations_to_skip(const std::vector<std::optional<std::int64_t>>& ages,
                                       int required);

}  // namespace walferry
