// Getting one archived file from one source into place at %p.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "archive/container.h"
#include "base/durable_file.h"
#include "store/store.h"
#include "wal/wal_name.h"

namespace walferry {

enum class RestoreOutcome { kRestored, kNotFound };

// Streams "<name>.zst" from `store`, decompressing into a temporary file next to `target_path`
// while hashing, and renames it to `target_path` only when the size and SHA-256 match the
// metadata (and, for segments, the size is a valid wal_segment_size). Not there ->
// not_found_in(store). A damaged copy -> Error(kChecksumMismatch / kInvalidContainer); on any
// failure the temporary file is removed and `target_path` is left as it was. When restored,
// `raw_size` (if given) receives the file's size: wal_segment_size for a segment. A segment is
// restored only if it belongs to the cluster `store`'s walferry.info records and, given
// `server_sysid`, to the recovering server's (cluster_guard.h); else Error(kForeignCluster).
RestoreOutcome restore_file(Store& store, const WalName& name, const std::string& target_path,
                            std::uint64_t* raw_size = nullptr,
                            std::optional<std::uint64_t> server_sysid = std::nullopt);

// Streams "<name>.zst" from `store` through every check of checked_reader.h (and, for a segment,
// check_archive_cluster) into `temp`, made (`dir_fd`, `dir`, `temp_name`) at the first byte: "not
// found", the common answer, creates and removes nothing. nullopt if `store` has no such file,
// else the checked metadata, `temp` holding the file, unpublished. Damage -> Error, `temp` left
// for its destructor to remove.
std::optional<ContainerMeta> download_checked(Store& store, const WalName& name,
                                              std::optional<TempFile>& temp, int dir_fd,
                                              const std::string& dir, const TempName& temp_name,
                                              std::optional<std::uint64_t> server_sysid);

// What a store's "no such file" means for fetch: kNotFound only if the archive answered, that is
// its directory exists (the stores throw otherwise) and holds walferry.info. An archive without
// walferry.info was never pushed to by walferry (or lost its record): it cannot vouch that a file
// was never archived, and a wrong path must stop a targeted recovery, not end it early:
// Error(kConfig).
RestoreOutcome not_found_in(Store& store);

}  // namespace walferry
