// walferry-fetch: orchestration of one restore_command call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/open_store.h"

namespace walferry {

enum class RecoveryMode {
    kAuto,      // standby.signal in the working directory -> standby, else recovery
    kStandby,   // the server will ask again: failures exit 1
    kRecovery,  // targeted recovery / PITR: failures other than "not found" stop recovery (255)
};

struct FetchOptions {
    std::string wal_file;              // %f
    std::string target_path;           // %p
    std::vector<std::string> sources;  // positional; replace the config's when given
    std::optional<std::string> config_path;
    RecoveryMode mode = RecoveryMode::kAuto;
    bool verbose = false;
};

// Decides standby vs recovery for kAuto from the files in `dir` (PostgreSQL runs restore_command
// in PGDATA): standby.signal there -> standby. Anything else -> recovery, also when `dir` cannot
// be looked into (a working directory removed or unreadable): a failure then stops recovery
// rather than ending it early.
RecoveryMode resolve_mode(RecoveryMode requested, const std::string& dir);

// The --mode a command line asks for, read without CLI11 (for one CLI11 could not parse):
// kRecovery if any --mode says recovery, else kStandby if one says standby, else kAuto.
RecoveryMode mode_in_arguments(int argc, const char* const* argv);

// The exit status of a failure raised with `code`, before or while the sources are asked: the
// mode's (fetch_exit_code with resolve_mode(requested, dir)), even for a command line that cannot
// be understood or a %f that is no WAL name, since PostgreSQL reads 2 or 3 as "not found" and a
// broken restore_command would end a targeted recovery early. Only when walferry-fetch is run by
// hand (kAuto, and `dir` is not a data directory: no PG_VERSION, where PostgreSQL never calls it)
// do those two keep their usual status (exit_code: 2, 3).
int failure_status(ErrorCode code, RecoveryMode requested, const std::string& dir);

// One restore_command call; `options.mode` is resolved here if kAuto (main resolves it first, so
// that every failure, one before this call too, follows the same mode). Returns the exit status;
// throws Error for failures, which main maps with failure_status. Every source's store (the
// prefetch worker's too) comes from `opener` (open_store; an in-memory one in tests).
int run_fetch(const FetchOptions& options, const StoreOpener& opener);

}  // namespace walferry
