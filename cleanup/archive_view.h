// What cleanup needs to know of one archive: its files by WAL name, the timeline histories of
// the cutoffs' timelines, and the segment size. Works on plain (cp-made) and walferry archives.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"
#include "wal/timeline_history.h"
#include "wal/wal_name.h"

namespace walferry {

struct ArchiveEntry {
    std::string stored;  // the file's name in the archive
    bool is_wal = false;
    WalName name;  // when is_wal: parsed after stripping `strip_ext`
};

// Lists the archive. `strip_ext` (pg_archivecleanup's -x) is removed from names ending with it.
std::vector<ArchiveEntry> list_archive(Store& store, std::string_view strip_ext);

// Reads and parses the .history file of each timeline in `timelines` (1 needs none) that the
// archive holds, whether stored as walferry container or plain. A damaged or unparsable one ->
// Error: cleanup never decides on a history it could not read.
std::map<std::uint32_t, TimelineHistory> load_histories(Store& store,
                                                        const std::vector<ArchiveEntry>& entries,
                                                        const std::set<std::uint32_t>& timelines);

// wal_segment_size of the archive: walferry.info, else the size recorded for (or of) a stored
// segment, else 16 MiB (an archive without segments has nothing to place).
std::uint64_t archive_segment_size(Store& store, const std::vector<ArchiveEntry>& entries);

// Whole content of a stored file: decompressed and verified for walferry containers (".zst"),
// as is otherwise. At most `max_bytes`.
std::string read_stored_file(Store& store, const ArchiveEntry& entry, std::size_t max_bytes);

}  // namespace walferry
