// Look-ahead batching: when %p is in pg_wal and archive_status/ lists the following segments as
// .ready, one call pushes them too over the same connections and leaves a marker per file in the
// spool; PostgreSQL's later call for such a file is answered at once once the marker is checked
// against the file (size and SHA-256, re-hashed: cheap next to the network). walferry never
// marks anything .done: PostgreSQL does that after each call.
//
// A marker vouches for exactly what it names: each destination by name and URL (a destination
// whose url changed under the same name is another archive), for a local (file://) archive the
// stored copy itself (looked at again: an archive directory replaced or unmounted since is
// noticed), and only for kMarkerMaxAgeS. A remote archive is not asked again (that would cost
// the connection the marker saves); the age limit bounds how long its answer is trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "archive/sha256.h"
#include "archive_push/wal_file.h"
#include "cli/config.h"
#include "cli/open_store.h"
#include "store/store.h"
#include "wal/wal_name.h"

namespace walferry {

// The segments after `current` on its timeline whose names are in `ready` (names without
// ".ready"), consecutive, at most `limit`. Pure.
std::vector<WalName> look_ahead(const WalName& current, std::uint64_t seg_size,
                                const std::set<std::string>& ready, int limit);

// Names (without ".ready") listed as <name>.ready in the archive_status directory next to
// `wal_path`, if `wal_path` is in a directory called pg_wal; empty otherwise or on any error.
std::set<std::string> ready_names(const std::string& wal_path);

// PostgreSQL asks for the look-ahead files within seconds of the call that pushed them; a marker
// older than this is not used, and the file is pushed by its own call (found identical).
inline constexpr std::int64_t kMarkerMaxAgeS = 60;

// A destination that holds the file durably, as it was configured when it stored it.
struct MarkerHolder {
    std::string name;
    std::string url;  // Location::url()
    friend bool operator==(const MarkerHolder&, const MarkerHolder&) = default;
};

struct BatchMarker {
    std::string name;  // WAL file name
    std::uint64_t size = 0;
    Sha256Digest sha256{};
    std::vector<MarkerHolder> destinations;
    // The file's identity when it was hashed (wal_file.h); nullopt: only the hash can tell.
    std::optional<FileIdentity> identity;
    std::int64_t written = 0;  // unix time
};

// Error(kInvalidState) if a field holds a line break.
std::string format_marker(const BatchMarker& marker);
// Error(kInvalidState) naming the problem (a marker of an older format too).
BatchMarker parse_marker(std::string_view text);

inline std::string marker_file_name(const std::string& wal_name) {
    return wal_name + ".marker";
}

// Writes the marker (replacing an older one).
void write_marker(Store& markers, const BatchMarker& marker);
// The marker for `wal_name`, or nullopt if none or unreadable.
std::optional<BatchMarker> read_marker(Store& markers, const std::string& wal_name);

// True if `marker` says the file is done for this call at unix time `now`: it is at most
// kMarkerMaxAgeS old and `required` (nullopt: all) of `destinations` hold it, each with the
// same name and URL as when it stored it and, if local, still holding a copy with the marker's
// size and SHA-256 in its metadata.
// A local destination's store comes from `opener`.
bool marker_covers(const BatchMarker& marker, const std::vector<Destination>& destinations,
                   std::optional<int> required, std::int64_t now, const StoreOpener& opener);

// True if the file at `path` is the one `marker` was written for: the very same version of the
// same file (identity unchanged since it was hashed: nothing can have written to it), or else the
// same size and SHA-256, hashed again now.
bool marker_matches_file(const BatchMarker& marker, const std::string& path);

// Size and SHA-256 of the file at `path`; nullopt if it cannot be read.
std::optional<std::pair<std::uint64_t, Sha256Digest>> hash_file(const std::string& path);

}  // namespace walferry
