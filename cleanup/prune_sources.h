// walferry-cleanup --prune: the positions that scheduled pruning must respect, asked of live
// servers (libpq) and derived from the archive's backups. Each becomes a recorded consumer.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cleanup/archive_view.h"
#include "cli/config.h"
#include "wal/wal_name.h"

namespace walferry {

// One (consumer name, cutoff) per [[server]] ("server.NAME": a standby's restartpoint redo
// segment from pg_control_checkpoint(); a primary's oldest physical slot restart_lsn, or none
// without slots) and "keep-backups" for keep_backups. Any server that cannot be asked ->
// Error(kUnavailable) naming it: pruning never runs on partial knowledge.
std::vector<std::pair<std::string, WalName>> prune_cutoffs(const Config& config,
                                                           const std::vector<ArchiveEntry>& entries,
                                                           std::uint64_t seg_size);

// The segment holding the start of the `keep`-th newest base backup (from ".backup" files), on
// the backup's timeline. Error(kInvalidState) when the archive holds no backup history file.
WalName keep_backups_cutoff(const std::vector<ArchiveEntry>& entries, int keep);

}  // namespace walferry
