// The spool directory (config `spool`) as every tool sees it: made on demand, private, synced,
// and never inside PGDATA (a base backup would copy it, pg_rewind would clobber it).
//
// Every directory walferry uses in the spool (the root and the ones below it) must be its own:
// not a symbolic link, a directory owned by this process's effective user, writable by nobody
// else. Whoever can write the spool's parent directory could otherwise plant a symbolic link
// (to pg_wal, to an archive) that walferry would follow and remove files in. Such a directory
// is refused, never followed. A directory below the root that others can read or search is made
// 0700 (walferry makes them so); the root itself may be readable by others (an operator's
// `mkdir`, mode 0755) and is left as it is: what it holds is in 0700 directories. The
// directories above the root are the operator's and are followed as given.
#pragma once

#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace walferry {

// Opens the directory `relative` ("", "prefetch/<key>", "backlog/<key>": components separated
// by '/', none "." or "..") under the spool root `root` (an absolute path), every component of
// it and the root itself with O_NOFOLLOW and checked as above. Missing components are made
// (mode 0700, each synced into its parent) if `create`, else the result is an invalid fd. A
// refused directory -> Error(kInvalidState) naming it and why; other failures -> Error(kIo).
UniqueFd open_spool_dir(const std::string& root, std::string_view relative, bool create);

// mkdir -p with mode 0700; each directory made is synced into its parent. Error(kIo) on failure,
// or if `dir` exists and is not a directory. For the directories above a spool root; the spool's
// own ones go through open_spool_dir.
void make_spool_dirs(const std::string& dir);

// Error(kConfig) if `spool` is inside the data directory `wal_path` belongs to (the parent of
// its pg_wal directory; `wal_path` may be relative to the working directory). A `wal_path` not
// in a pg_wal directory is not checked.
void check_spool_outside_data_dir(const std::string& spool, const std::string& wal_path);

}  // namespace walferry
