// The work on one WAL file before it goes anywhere: name and header checks, then one pass that
// reads, hashes and compresses it.
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>

#include "archive/archive_info.h"
#include "archive/container.h"
#include "base/file_identity.h"
#include "base/unique_fd.h"
#include "wal/wal_name.h"

namespace walferry {

struct PreparedWal {
    WalName name;
    CompressedFile file;
    // For segments and .partial files: the cluster they belong to, from the page header.
    std::optional<ArchiveInfo> cluster;
    // The file's identity, the same before and after it was read: so what was read and hashed is
    // what this identity still names, as long as it does. nullopt if it changed meanwhile.
    std::optional<FileIdentity> identity;
};

// The WAL file name of `path` (its last component). Error(kInvalidName) naming the problem if it
// is not one, or is an archived name (.zst).
WalName wal_name_of(const std::string& path);

// Opens `path` for reading and fills `st`, refusing at once anything that is not a regular file
// (FIFO, device, directory, socket: Error(kIo) saying which) without waiting on it. A symbolic
// link is followed, as cp and PostgreSQL's basic_archive do; its target must be a regular file.
UniqueFd open_regular_file(const std::string& path, struct stat& st);

// Reads `path` and prepares it for storage. Refuses (nothing written anywhere) a name that is not
// a WAL file name, a segment whose header is invalid or does not match its name or whose size is
// not the header's wal_segment_size, and a .history or .backup that check_small_wal_file refuses.
PreparedWal prepare_wal_file(const std::string& path, const CompressOptions& options);

}  // namespace walferry
