// A prepared timeline history file, for tests of publishing and the backlog: no cluster check,
// so any store takes it.
#pragma once

#include <string_view>

#include "archive_push/wal_file.h"
#include "store_test_helpers.h"

namespace walferry::testing {

inline PreparedWal prepared_history(std::uint32_t tli, std::string_view text, int level = 1) {
    PreparedWal wal;
    wal.name = history_name(tli);
    ContainerWriter writer(CompressOptions{level, 1});
    writer.feed(bytes_of(text));
    ContainerMeta meta;
    meta.name = wal.name.wal_file_name();
    wal.file = writer.finish(meta);
    return wal;
}

}  // namespace walferry::testing
