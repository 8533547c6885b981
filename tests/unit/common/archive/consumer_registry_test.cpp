// Cleanup consumers recorded in a local archive: the record format, names, the lock.
#include "archive/consumer_registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "expect_error.h"
#include "file_size_limit.h"
#include "scratch_dir.h"
#include "store/local_consumer_store.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

namespace {

const std::string kConsumers = std::string(kCleanupStateDir) + "/consumers";

ConsumerRegistry local_registry(const std::string& dir, ConsumerAccess access) {
    return ConsumerRegistry(std::make_unique<LocalConsumerStore>(dir, access));
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// An archive holding one hand-written record for consumer "pg2".
std::string damaged_record_error(const std::string& content) {
    ScratchDir dir;
    std::filesystem::create_directories(dir / kConsumers);
    dir.write(kConsumers + "/pg2", content);
    ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kLock);
    INFO("record: " << content);
    std::string msg = error_message(ErrorCode::kInvalidState, [&] { registry.load(); });
    CHECK_THAT(msg, Contains("--forget-consumer pg2"));
    CHECK(test_errors::printable(msg));
    return msg;
}

}  // namespace

TEST_CASE("cleanup consumers: record, load, re-record and forget round trip",
          "[consumer_registry]") {
    ScratchDir dir;
    {
        ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kCreate);
        registry.record("standby1", parse_wal_name("00000003000000000000000C"), 1700000000);
        registry.record("server.pg-2_b", parse_wal_name("000000040000001A000000FF"), 1700000100);
        registry.record("keep-backups", parse_wal_name("000000010000000000000004"), 5);
    }
    CHECK(dir.read(kConsumers + "/standby1") ==
          "cutoff = \"00000003000000000000000C\"\nupdated = 1700000000\n");

    ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kLock);
    std::vector<ConsumerRecord> records = registry.load();
    REQUIRE(records.size() == 3);
    CHECK(records[0].name == "keep-backups");  // sorted by name
    CHECK(records[0].cutoff == parse_wal_name("000000010000000000000004"));
    CHECK(records[0].updated == 5);
    CHECK(records[1].name == "server.pg-2_b");
    CHECK(records[1].cutoff == parse_wal_name("000000040000001A000000FF"));
    CHECK(records[2].name == "standby1");
    CHECK(records[2].updated == 1700000000);

    registry.record("standby1", parse_wal_name("00000003000000000000000D"), 1700000200);
    records = registry.load();
    REQUIRE(records.size() == 3);
    CHECK(records[2].cutoff == parse_wal_name("00000003000000000000000D"));
    CHECK(records[2].updated == 1700000200);

    CHECK(registry.forget("standby1"));
    CHECK_FALSE(registry.forget("standby1"));
    CHECK_FALSE(registry.forget("never-seen"));
    records = registry.load();
    REQUIRE(records.size() == 2);
    CHECK(records[1].name == "server.pg-2_b");
    // Temp files of record() and other dot-names are not consumers.
    dir.write(kConsumers + "/.standby9.tmp", "garbage");
    CHECK(registry.load().size() == 2);
}

TEST_CASE("cleanup consumers: an archive without cleanup state has none and gets none",
          "[consumer_registry]") {
    ScratchDir dir;
    ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kLock);
    CHECK(registry.load().empty());
    CHECK_FALSE(registry.forget("standby1"));
    error_message(ErrorCode::kInternal, [&] {
        registry.record("standby1", parse_wal_name("000000010000000000000004"), 1);
    });
    CHECK_FALSE(exists(dir / std::string(kCleanupStateDir)));
}

TEST_CASE("cleanup consumers: a damaged record stops the cleanup", "[consumer_registry]") {
    CHECK_THAT(damaged_record_error("cutoff = "), Contains("is damaged"));
    CHECK_THAT(damaged_record_error("cutoff = \"000000010000000000000004\"\n"),
               Contains("missing cutoff or updated"));
    CHECK_THAT(damaged_record_error("updated = 5\n"), Contains("missing cutoff or updated"));
    CHECK_THAT(damaged_record_error("cutoff = \"000000010000000000000004\"\nupdated = \"5\"\n"),
               Contains("missing cutoff or updated"));
    CHECK_THAT(damaged_record_error("cutoff = 4\nupdated = 5\n"),
               Contains("missing cutoff or updated"));
    for (const char* cut :
         {"00000002.history", "000000010000000000000004.partial", "000000010000000000000004.zst",
          "000000010000000000000004.00000028.backup", "0000000100000000000000zz", "\\u0001\\n"}) {
        CHECK_THAT(damaged_record_error("cutoff = \"" + std::string(cut) + "\"\nupdated = 5\n"),
                   Contains("is not a WAL segment name"));
    }
    CHECK_THAT(damaged_record_error(std::string(70000, '#')), Contains("larger than 65536 bytes"));
    CHECK_THAT(damaged_record_error(std::string("cutoff = \"\0\"", 12)), Contains("is damaged"));
}

TEST_CASE("cleanup consumers: one good record does not hide a damaged one", "[consumer_registry]") {
    ScratchDir dir;
    ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kCreate);
    registry.record("a", parse_wal_name("000000010000000000000004"), 1);
    dir.write(kConsumers + "/b", "cutoff = \"nonsense\"\nupdated = 1\n");
    CHECK_THAT(error_message(ErrorCode::kInvalidState, [&] { registry.load(); }),
               Contains("consumers/b\" is damaged"));
}

TEST_CASE("cleanup consumers: a record that cannot be written whole is an error naming why",
          "[consumer_registry]") {
    ScratchDir dir;
    ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kCreate);
    std::string msg;
    {
        // The first write() of the record is short (16 of its bytes), the next one fails.
        FileSizeLimit limit(16);
        msg = error_message(ErrorCode::kIo, [&] {
            registry.record("a", parse_wal_name("000000010000000000000004"), 1700000000);
        });
    }
    CHECK_THAT(msg, Contains("cannot write") && Contains(".a.tmp") && Contains(errno_text(EFBIG)));
    // Nothing half-written is left: no record, no temp record.
    CHECK_FALSE(exists(dir / (kConsumers + "/a")));
    CHECK_FALSE(exists(dir / (kConsumers + "/.a.tmp")));
    CHECK(registry.load().empty());
}

TEST_CASE("cleanup consumer names: letters, digits, '_', '-', '.', not leading '.'",
          "[consumer_registry]") {
    for (const std::string& good : std::vector<std::string>{
             "standby1", "server.pg2", "keep-backups", "A_b-9.x", "x", std::string(64, 'n')}) {
        INFO("name " << good);
        CHECK_NOTHROW(check_consumer_name(good));
    }
    for (const std::string& bad : std::vector<std::string>{
             std::string(), std::string(".hidden"), std::string("."), std::string(".."),
             std::string("../x"), std::string("a/b"), std::string("a b"), std::string("a\nb"),
             std::string("caf\xc3\xa9"), std::string("a\0b", 3), std::string("x;rm"),
             std::string(65, 'n')}) {
        INFO("name \"" << bad << "\"");
        std::string msg = error_message(ErrorCode::kUsage, [&] { check_consumer_name(bad); });
        CHECK_THAT(msg, Contains("invalid consumer name"));
        CHECK(test_errors::printable(msg));
    }
    ScratchDir dir;
    ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kCreate);
    error_message(ErrorCode::kUsage, [&] {
        registry.record("../escape", parse_wal_name("000000010000000000000004"), 1);
    });
    error_message(ErrorCode::kUsage, [&] { registry.forget("../../etc/passwd"); });
    CHECK_FALSE(exists(dir / std::string(kCleanupStateDir) + "/escape"));
}

TEST_CASE("cleanup consumers: a second cleanup waits for the first one's lock",
          "[consumer_registry]") {
    ScratchDir dir;
    std::atomic<bool> second_has_lock{false};
    std::thread second;
    {
        ConsumerRegistry first = local_registry(dir.path(), ConsumerAccess::kCreate);
        second = std::thread([&] {
            ConsumerRegistry registry = local_registry(dir.path(), ConsumerAccess::kCreate);
            second_has_lock = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        CHECK_FALSE(second_has_lock);
    }
    second.join();
    CHECK(second_has_lock);
}

TEST_CASE("cleanup consumers: read-only, nothing is created and no lock is taken",
          "[consumer_registry]") {
    ScratchDir dir;
    // No cleanup state: no consumers, and still none.
    CHECK(local_registry(dir.path(), ConsumerAccess::kRead).load().empty());
    CHECK_FALSE(exists(dir / std::string(kCleanupStateDir)));

    local_registry(dir.path(), ConsumerAccess::kCreate)
        .record("sb1", parse_wal_name("000000010000000000000004"), 7);
    const std::string lock = dir / (std::string(kCleanupStateDir) + "/lock");
    REQUIRE(::unlink(lock.c_str()) == 0);
    {
        // A cleanup holding the lock (it would block a second flock() in this process too).
        ConsumerRegistry held = local_registry(dir.path(), ConsumerAccess::kLock);
        REQUIRE(exists(lock));
        std::vector<ConsumerRecord> records =
            local_registry(dir.path(), ConsumerAccess::kRead).load();
        REQUIRE(records.size() == 1);
        CHECK(records[0].name == "sb1");
        CHECK(records[0].updated == 7);
    }
    REQUIRE(::unlink(lock.c_str()) == 0);
    CHECK(local_registry(dir.path(), ConsumerAccess::kRead).load().size() == 1);
    CHECK_FALSE(exists(lock));
    // A read-only registry records nothing either.
    ScratchDir empty;
    error_message(ErrorCode::kInternal, [&] {
        local_registry(empty.path(), ConsumerAccess::kRead)
            .record("sb1", parse_wal_name("000000010000000000000004"), 1);
    });
    CHECK_FALSE(exists(empty / std::string(kCleanupStateDir)));
}

TEST_CASE("cleanup consumers: read-only, a damaged record is the same error",
          "[consumer_registry]") {
    ScratchDir dir;
    std::filesystem::create_directories(dir / kConsumers);
    dir.write(kConsumers + "/pg2", "cutoff = \"nonsense\"\nupdated = 1\n");
    const std::string msg = error_message(ErrorCode::kInvalidState, [&] {
        local_registry(dir.path(), ConsumerAccess::kRead).load();
    });
    CHECK_THAT(msg, Contains("consumers/pg2\" is damaged") && Contains("--forget-consumer pg2"));
    CHECK(msg.find('\n') == std::string::npos);
}
