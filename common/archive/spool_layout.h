// The names in a host's spool directory (config `spool`) that more than one command knows:
// walferry-push and walferry-fetch write them, walferry-status reads them (never writes).
//
//   backlog/<destination key>/<seq>.<archive name>  push's backlog (archive_push/backlog.h)
//   unreachable/<destination key>                   a destination push leaves alone a while
//   prefetch/<key>/<segment>, <segment>.ok          fetch's prefetch entries
//   prefetch/<key>/damaged.<file>.<i>               damage notes (damage_note.h)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace walferry {

inline constexpr std::string_view kSpoolBacklogDir = "backlog";
inline constexpr std::string_view kSpoolUnreachableDir = "unreachable";
inline constexpr std::string_view kSpoolPrefetchDir = "prefetch";
inline constexpr std::string_view kPrefetchOkSuffix = ".ok";
inline constexpr std::string_view kPrefetchNotePrefix = "damaged.";

// A destination noted unreachable is left alone this long after its last failure.
inline constexpr std::int64_t kRetryUnreachableAfterS = 30;

// A file-name-safe key for a destination name (URLs contain '/'): [A-Za-z0-9_-] kept, every other
// byte as %XX; names whose key would be too long become "sha256-<hex>".
std::string destination_key(const std::string& name);

}  // namespace walferry
