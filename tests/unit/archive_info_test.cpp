#include "archive_info.h"

#include <catch2/catch.hpp>

#include "error.h"
#include "file_store.h"
#include "memory_store.h"
#include "scratch_dir.h"
#include "store_test_helpers.h"

using namespace walferry;
using namespace walferry::testing;

namespace {

const ArchiveInfo kCluster{7301234567890123456ull, 15, 16 << 20};

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
    CHECK(same.calls ==
          std::vector<std::string>{"get walferry.info", "put walferry.info", "get walferry.info"});
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
