// The keep_backups cutoff of walferry-cleanup --prune.
#include "cleanup/prune_sources.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "cleanup/archive_view.h"
#include "expect_error.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

namespace {

std::vector<ArchiveEntry> entries(std::initializer_list<const char*> names) {
    std::vector<ArchiveEntry> out;
    for (const char* name : names) {
        ArchiveEntry e;
        e.stored = name;
        e.is_wal = try_parse_wal_name(name, e.name);
        out.push_back(e);
    }
    return out;
}

// `got` must be exactly the plain segment `want` (kind, no offset, no .zst).
void check_cut(const WalName& got, const char* want) {
    INFO("got " << got.wal_file_name() << (got.compressed ? " (.zst)" : ""));
    CHECK(got == parse_wal_name(want));
}

}  // namespace

TEST_CASE("cleanup keep_backups_cutoff: the start segment of the N-th newest backup",
          "[prune_sources]") {
    auto archive =
        entries({"000000010000000000000004.00000028.backup", "000000010000000000000004",
                 "000000020000000000000007.00000060.backup.zst", "walferry.info",
                 "00000003000000000000000C.00000028.backup", "00000003.history",
                 "00000003000000000000000C.000000D8.backup", "00000003000000000000000E"});
    check_cut(keep_backups_cutoff(archive, 1), "00000003000000000000000C");
    check_cut(keep_backups_cutoff(archive, 2), "00000003000000000000000C");  // two began in C
    check_cut(keep_backups_cutoff(archive, 3), "000000020000000000000007");  // a segment, no .zst
    check_cut(keep_backups_cutoff(archive, 4), "000000010000000000000004");
    // Fewer backups than asked for: keep from the oldest one there is.
    check_cut(keep_backups_cutoff(archive, 100), "000000010000000000000004");
}

TEST_CASE("cleanup keep_backups_cutoff orders by position, across log ids", "[prune_sources]") {
    auto archive = entries({"0000000100000008000000FF.00000028.backup",
                            "00000002000000090000000A.00000028.backup",
                            "00000001000000090000000A.00000020.backup"});
    check_cut(keep_backups_cutoff(archive, 1), "00000002000000090000000A");
    check_cut(keep_backups_cutoff(archive, 2), "00000001000000090000000A");
    check_cut(keep_backups_cutoff(archive, 3), "0000000100000008000000FF");
}

TEST_CASE("cleanup keep_backups_cutoff without any .backup file removes nothing",
          "[prune_sources]") {
    auto archive = entries({"000000010000000000000004", "00000002.history", "notes.txt",
                            "000000010000000000000004.partial"});
    CHECK_THAT(error_message(ErrorCode::kInvalidState, [&] { keep_backups_cutoff(archive, 2); }),
               Contains("keep_backups = 2") && Contains("no .backup file"));
    error_message(ErrorCode::kInvalidState, [&] { keep_backups_cutoff({}, 1); });
}
