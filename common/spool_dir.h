// The spool directory (config `spool`) as every tool sees it: made on demand, private, synced,
// and never inside PGDATA (a base backup would copy it, pg_rewind would clobber it).
#pragma once

#include <string>

namespace walferry {

// mkdir -p with mode 0700; each directory made is synced into its parent. Error(kIo) on failure,
// or if `dir` exists and is not a directory.
void make_spool_dirs(const std::string& dir);

// fsync of a directory, so that a rename or unlink in it survives a crash. Error(kIo) on failure.
void fsync_dir(const std::string& dir);

// Error(kConfig) if `spool` is inside the data directory `wal_path` belongs to (the parent of
// its pg_wal directory; `wal_path` may be relative to the working directory). A `wal_path` not
// in a pg_wal directory is not checked.
void check_spool_outside_data_dir(const std::string& spool, const std::string& wal_path);

}  // namespace walferry
