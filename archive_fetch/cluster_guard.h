// The wrong-cluster guard: a segment is handed over only if its system identifier is the
// recovering server's and the one its archive's walferry.info records. An archive rebuilt for a
// new cluster at the same URL, a data directory re-created at the same path, a spool filled for
// the cluster that was there before: none of them may hand PostgreSQL a segment of another
// cluster (it would refuse it, "WAL file is from different database system", and end
// recovery early). A foreign segment is a damaged copy: the next source is asked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "archive/checked_reader.h"
#include "store/store.h"

namespace walferry {

// The recovering server's system identifier, from global/pg_control of the data directory
// `target_path` (%p, relative to `cwd` unless absolute) is in when it is in a pg_wal directory
// (PostgreSQL's calls, and pg_rewind's, whose working directory is not PGDATA), else of the working
// directory `cwd` when that is a data directory. nullopt if neither has a pg_control. Error(kIo) if
// the one found cannot be read or is damaged.
std::optional<std::uint64_t> recovering_server_sysid(const std::string& cwd,
                                                     const std::string& target_path);

// Error(kForeignCluster) naming `file` and the store unless the store's walferry.info records
// `segment_sysid`; an archive without walferry.info cannot vouch for any segment.
void check_archive_cluster(Store& store, std::uint64_t segment_sysid, const std::string& file);

}  // namespace walferry
