#include "archive/archive_info.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "base/error.h"
#include "memory_store.h"
#include "scratch_dir.h"
#include "store/file_store.h"
#include "store_test_helpers.h"

using namespace walferry;
using namespace walferry::testing;

namespace {

const ArchiveInfo kCluster{7301234567890123456ull, 15, 16 << 20};
// A segment of a PostgreSQL newer than walferry knows: magic 0xD125, no major.
const ArchiveInfo kNewer{7301234567890123456ull, 0, 16 << 20, 0xD125};

// The stored form of a segment of `cluster`: its metadata frame (all ensure_archive_info reads)
// and a stand-in payload.
std::string stored_segment(const std::string& name, const ArchiveInfo& cluster) {
    ContainerMeta meta;
    meta.name = name;
    meta.raw_size = cluster.seg_size;
    meta.sysid = cluster.sysid;
    meta.tli = 1;
    meta.pg_major = cluster.pg_major;
    meta.wal_magic = cluster.unverified_magic;
    std::vector<std::uint8_t> frame = encode_meta_frame(meta);
    return std::string(frame.begin(), frame.end()) + "payload";
}

std::string parse_error(std::string_view text) {
    Error e = error_of([&] { parse_archive_info(text); });
    CHECK(e.code() == ErrorCode::kInvalidContainer);
    return e.what();
}

}  // namespace

TEST_CASE("walferry.info is plain TOML and round-trips", "[archive_info]") {
    CHECK(format_archive_info(kCluster) ==
          "system_identifier = 7301234567890123456\npg_major = 15\nwal_segment_size = 16777216\n");
    CHECK(parse_archive_info(format_archive_info(kCluster)) == kCluster);
    // identifiers past 2^63 (clusters made after 2038) do not fit a TOML integer
    ArchiveInfo late{18446744073709551615ull, 18, 1 << 20};
    CHECK_THAT(format_archive_info(late),
               Catch::Contains("system_identifier = \"18446744073709551615\""));
    CHECK(parse_archive_info(format_archive_info(late)) == late);
    // a newer walferry may record more
    CHECK(parse_archive_info(format_archive_info(kCluster) + "created_by = \"walferry 9\"\n") ==
          kCluster);
}

TEST_CASE("a damaged walferry.info is refused with the reason", "[archive_info]") {
    CHECK_THAT(parse_error("system_identifier = "),
               Catch::Contains("walferry.info: not valid TOML"));
    CHECK_THAT(parse_error("pg_major = 15\nwal_segment_size = 1"),
               Catch::Contains("system_identifier is missing"));
    CHECK_THAT(parse_error("system_identifier = 5\nwal_segment_size = 1"),
               Catch::Contains("pg_major is missing"));
    CHECK_THAT(parse_error("system_identifier = 5\npg_major = 15"),
               Catch::Contains("wal_segment_size is missing"));
    CHECK_THAT(parse_error("system_identifier = -5\npg_major = 15\nwal_segment_size = 1"),
               Catch::Contains("system_identifier must be a positive integer"));
    CHECK_THAT(parse_error("system_identifier = \"12x\"\npg_major = 15\nwal_segment_size = 1"),
               Catch::Contains("system_identifier must be a positive integer"));
    CHECK_THAT(parse_error("system_identifier = 5\npg_major = \"15\"\nwal_segment_size = 1"),
               Catch::Contains("pg_major must be a positive integer"));
    CHECK_THAT(parse_error("system_identifier = 5\npg_major = 15\nwal_segment_size = 0"),
               Catch::Contains("wal_segment_size must be a positive integer"));
    CHECK_THAT(parse_error("system_identifier = 5\npg_major = 99999\nwal_segment_size = 1"),
               Catch::Contains("pg_major 99999 is out of range"));
}

TEST_CASE("read_archive_info: absent, present, damaged", "[archive_info]") {
    MemoryStore store("a");
    CHECK_FALSE(read_archive_info(store));
    store.set(kArchiveInfoName, format_archive_info(kCluster));
    CHECK(read_archive_info(store) == kCluster);
    store.set(kArchiveInfoName, "garbage");
    Error e = error_of([&] { read_archive_info(store); });
    CHECK(e.code() == ErrorCode::kInvalidContainer);
    CHECK_THAT(e.what(), Catch::Contains("(in memory://a)"));
    store.set(kArchiveInfoName, std::string(100000, '#'));
    CHECK_THAT(error_of([&] { read_archive_info(store); }).what(),
               Catch::Contains("walferry.info of memory://a is larger than 65536 bytes"));
}

TEST_CASE("the first push records the cluster, later pushes compare", "[archive_info]") {
    MemoryStore store;
    ensure_archive_info(store, kCluster);
    CHECK(store.puts == std::vector<std::string>{"walferry.info"});
    CHECK(store.text(kArchiveInfoName) == format_archive_info(kCluster));
    ensure_archive_info(store, kCluster);
    CHECK(store.puts.size() == 1);  // compared, not written again
}

TEST_CASE("a segment from another cluster is refused naming both values", "[archive_info]") {
    MemoryStore store("x");
    ensure_archive_info(store, {456, 15, 16 << 20});
    Error e = error_of([&] { ensure_archive_info(store, {123, 15, 16 << 20}); });
    CHECK(e.code() == ErrorCode::kForeignCluster);
    CHECK(std::string(e.what()) ==
          "the WAL file belongs to another cluster than the archive: system identifier 123 "
          "differs from 456 recorded in walferry.info of memory://x");
    e = error_of([&] { ensure_archive_info(store, {456, 16, 16 << 20}); });
    CHECK_THAT(e.what(), Catch::Contains("PostgreSQL major version 16 differs from 15"));
    e = error_of([&] { ensure_archive_info(store, {789, 14, 1 << 20}); });
    CHECK(e.code() == ErrorCode::kForeignCluster);
    CHECK_THAT(e.what(), Catch::Contains("system identifier 789 differs from 456, PostgreSQL major "
                                         "version 14 differs from 15, wal_segment_size 1048576 "
                                         "differs from 16777216 recorded in walferry.info"));
    CHECK(store.text(kArchiveInfoName) == format_archive_info({456, 15, 16 << 20}));
}

TEST_CASE("a concurrent first push wins and is compared", "[archive_info]") {
    MemoryStore store;
    ArchiveInfo other{999, 15, 16 << 20};
    store.before_put = [&](std::string_view) {
        store.set(kArchiveInfoName, format_archive_info(other));
    };
    Error e = error_of([&] { ensure_archive_info(store, kCluster); });
    CHECK(e.code() == ErrorCode::kForeignCluster);
    CHECK_THAT(e.what(), Catch::Contains("differs from 999"));
    CHECK(store.puts.empty());

    MemoryStore same;
    same.before_put = [&](std::string_view) {
        same.set(kArchiveInfoName, format_archive_info(kCluster));
    };
    ensure_archive_info(same, kCluster);
    CHECK(same.calls == std::vector<std::string>{"get walferry.info", "list", "put walferry.info",
                                                 "get walferry.info"});
}

TEST_CASE("store failures pass through ensure_archive_info", "[archive_info]") {
    MemoryStore store;
    store.fail(MemoryStore::Op::kPut, ErrorCode::kIo);
    Error e = error_of([&] { ensure_archive_info(store, kCluster); });
    CHECK(e.code() == ErrorCode::kIo);
    CHECK_THAT(e.what(), Catch::Contains("injected failure in put"));
}

TEST_CASE("walferry.info in a file:// archive", "[archive_info]") {
    ScratchDir dir;
    FileStore store(dir.path());
    ensure_archive_info(store, kCluster);
    CHECK(dir.read("walferry.info") == format_archive_info(kCluster));
    FileStore again(dir.path());  // a later push
    ensure_archive_info(again, kCluster);
    CHECK_THROWS_AS(ensure_archive_info(again, {1, 15, 16 << 20}), Error);
    // the info file is a regular file of the archive, listed like any other
    CHECK(store.list() == std::vector<std::string>{"walferry.info"});
}

TEST_CASE("an unverified magic is recorded in walferry.info and read back", "[archive_info]") {
    const std::string text = format_archive_info(kNewer);
    CHECK_THAT(text, Catch::Contains("\nunverified_wal_magic = 0xD125\n"));
    // Readers that ignore the new key (every walferry before it) still find a positive major:
    // a lower bound, one past the newest verified.
    CHECK_THAT(text, Catch::StartsWith("system_identifier = 7301234567890123456\npg_major = 20\n"
                                       "wal_segment_size = 16777216\n"));
    CHECK(parse_archive_info(text) == kNewer);
    // Files written before the key existed read as before.
    CHECK(parse_archive_info("system_identifier = 5\npg_major = 19\nwal_segment_size = 1\n") ==
          ArchiveInfo{5, 19, 1, 0});
    // A magic recorded unverified that this walferry knows counts as its major.
    CHECK(parse_archive_info("system_identifier = 5\npg_major = 19\nwal_segment_size = 1\n"
                             "unverified_wal_magic = 0xD121\n") == ArchiveInfo{5, 19, 1, 0});
    CHECK_THAT(parse_error("system_identifier = 5\npg_major = 20\nwal_segment_size = 1\n"
                           "unverified_wal_magic = 0x10000\n"),
               Catch::Contains("unverified_wal_magic 65536 is out of range"));
    CHECK_THAT(parse_error("system_identifier = 5\npg_major = 20\nwal_segment_size = 1\n"
                           "unverified_wal_magic = \"D125\"\n"),
               Catch::Contains("unverified_wal_magic must be a positive integer"));
}

TEST_CASE("the cluster of a header or of stored metadata", "[archive_info]") {
    WalPageHeader h;
    h.sysid = 9;
    h.seg_size = 1 << 20;
    h.magic = 0xD121;
    h.pg_major = 19;
    CHECK(cluster_of(h) == ArchiveInfo{9, 19, 1 << 20, 0});
    h.magic = 0xD130;
    h.pg_major = 0;
    CHECK(cluster_of(h) == ArchiveInfo{9, 0, 1 << 20, 0xD130});
    ContainerMeta meta;
    meta.sysid = 9;
    meta.raw_size = 1 << 20;
    meta.pg_major = 0;
    meta.wal_magic = 0xD120;  // pushed unverified by a walferry that did not know 19's beta
    CHECK(cluster_of(meta) == ArchiveInfo{9, 19, 1 << 20, 0});
}

TEST_CASE("a newer magic is recorded once and later pushes compare the magic", "[archive_info]") {
    MemoryStore store("n");
    ensure_archive_info(store, kNewer);
    CHECK(store.text(kArchiveInfoName) == format_archive_info(kNewer));
    ensure_archive_info(store, kNewer);
    CHECK(store.puts.size() == 1);
    ArchiveInfo other_magic = kNewer;
    other_magic.unverified_magic = 0xD126;
    Error e = error_of([&] { ensure_archive_info(store, other_magic); });
    CHECK(e.code() == ErrorCode::kForeignCluster);
    CHECK_THAT(e.what(), Catch::Contains("PostgreSQL major version newer than 19 (WAL page magic "
                                         "0xD126) differs from newer than 19 (WAL page magic "
                                         "0xD125)"));
    ArchiveInfo verified = kNewer;
    verified.pg_major = 19;
    verified.unverified_magic = 0;
    CHECK(error_of([&] { ensure_archive_info(store, verified); }).code() ==
          ErrorCode::kForeignCluster);

    // An archive a newer walferry created, knowing the magic as 20 or later, takes the segments
    // this walferry cannot place: the system identifier still has to match.
    MemoryStore later("l");
    later.set(kArchiveInfoName, format_archive_info({kNewer.sysid, 20, 16 << 20}));
    ensure_archive_info(later, kNewer);
    CHECK(error_of([&] {
              ensure_archive_info(later, {1, 0, 16 << 20, 0xD125});
          }).code() == ErrorCode::kForeignCluster);
    MemoryStore older("o");
    older.set(kArchiveInfoName, format_archive_info({kNewer.sysid, 18, 16 << 20}));
    CHECK(error_of([&] { ensure_archive_info(older, kNewer); }).code() ==
          ErrorCode::kForeignCluster);
}

TEST_CASE("a lost walferry.info is re-created from the stored segments only", "[archive_info]") {
    MemoryStore store("s");
    store.set("000000010000000000000003.zst", stored_segment("000000010000000000000003", kCluster));
    store.set("000000010000000000000004.zst", stored_segment("000000010000000000000004", kCluster));
    store.set("00000002.history.zst", "not read");
    const ArchiveInfo foreign{123, 15, 16 << 20};
    Error e = error_of([&] { ensure_archive_info(store, foreign); });
    CHECK(e.code() == ErrorCode::kForeignCluster);
    CHECK(std::string(e.what()) ==
          "the WAL file belongs to another cluster than the archive: system identifier 123 "
          "differs from 7301234567890123456 recorded in the metadata of "
          "\"000000010000000000000004.zst\" in memory://s (walferry.info is missing)");
    CHECK(store.puts.empty());
    // the newest segment's metadata frame only, once
    CHECK(std::count(store.calls.begin(), store.calls.end(), "stat 000000010000000000000004.zst") ==
          1);
    CHECK(std::count(store.calls.begin(), store.calls.end(), "stat 000000010000000000000003.zst") ==
          0);
    CHECK(error_of([&] {
              ensure_archive_info(store, {kCluster.sysid, 15, 1 << 20});
          }).code() == ErrorCode::kForeignCluster);

    ensure_archive_info(store, kCluster);
    CHECK(store.puts == std::vector<std::string>{"walferry.info"});
    CHECK(store.text(kArchiveInfoName) == format_archive_info(kCluster));
    CHECK(error_of([&] { ensure_archive_info(store, foreign); }).code() ==
          ErrorCode::kForeignCluster);
}

TEST_CASE("a lost walferry.info: damaged metadata of the newest segment is skipped",
          "[archive_info]") {
    MemoryStore store("d");
    store.set("000000010000000000000003.partial.zst",
              stored_segment("000000010000000000000003.partial", kNewer));
    store.set("000000010000000000000004.zst", "damaged");
    const ArchiveInfo foreign{123, 0, 16 << 20, 0xD125};
    Error e = error_of([&] { ensure_archive_info(store, foreign); });
    CHECK(e.code() == ErrorCode::kForeignCluster);
    CHECK_THAT(e.what(), Catch::Contains("000000010000000000000003.partial.zst"));
    ensure_archive_info(store, kNewer);
    CHECK(store.text(kArchiveInfoName) == format_archive_info(kNewer));

    // Segments but no readable metadata: whose the archive is cannot be told.
    MemoryStore bad("b");
    bad.set("000000010000000000000004.zst", "damaged");
    e = error_of([&] { ensure_archive_info(bad, kCluster); });
    CHECK(e.code() == ErrorCode::kInvalidContainer);
    CHECK_THAT(e.what(), Catch::Contains("walferry.info of memory://b is missing") &&
                             Catch::Contains("000000010000000000000004.zst"));
    CHECK(bad.puts.empty());
}
