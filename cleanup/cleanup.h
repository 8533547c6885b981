// walferry-cleanup: orchestration of one call (archive_cleanup_command, cron, or by hand).
#pragma once

#include <optional>
#include <string>

#include "cli/open_store.h"

namespace walferry {

struct CleanupOptionsCli {
    std::string archive;                // ARCHIVEDIR: a path, file:// or sftp:// URL
    std::optional<std::string> cutoff;  // OLDESTKEPTWALFILE (%r)
    std::string strip_ext;              // -x
    bool dry_run = false;               // -n
    bool debug = false;                 // -d
    bool clean_backup_history = false;  // -b
    bool prune_diverged = false;
    bool prune = false;  // cutoffs from the config's servers and policies
    std::optional<std::string> consumer;
    std::optional<std::string> forget_consumer;
    std::optional<std::string> config_path;
    int lock_wait_s = 60;  // SFTP archives: how long to wait for a held lock
};

// The archive's store comes from `opener` (open_store; an in-memory one in tests); its consumer
// records are kept through SFTP for an SftpStore, else in the local directory ARCHIVEDIR.
// Returns the exit status; throws Error, which main maps with cleanup_exit_code.
int run_cleanup(const CleanupOptionsCli& options, const StoreOpener& opener);

}  // namespace walferry
