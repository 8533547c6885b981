// ConsumerRegistry over its ConsumerStore interface: the record format and the recovery of a
// replace that stopped half-way (SFTP replaces a record in two steps), shared by local and SFTP
// archives.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "archive/consumer_registry.h"
#include "base/error.h"
#include "expect_error.h"
#include "scratch_dir.h"
#include "store/local_consumer_store.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

namespace {

// Records in a map; publish() replaces the way sftp_replace_file() does (temp, remove, rename)
// and can be told to stop after the remove, as a writer that died there.
class MemoryConsumerStore final : public ConsumerStore {
  public:
    explicit MemoryConsumerStore(std::map<std::string, std::string>& files) : files_(files) {}
    bool has_state() const override { return true; }
    bool locked() const override { return is_locked; }
    std::vector<std::string> entries() override {
        if (on_entries) on_entries();
        std::vector<std::string> out;
        for (const auto& [name, text] : files_) out.push_back(name);
        return out;
    }
    std::optional<std::string> read(const std::string& entry, std::size_t) override {
        if (entry == unreadable) throw Error(read_error, "cannot read \"mem:" + entry + "\"");
        if (on_read) on_read(entry);
        auto it = files_.find(entry);
        if (it == files_.end()) return std::nullopt;
        return it->second;
    }
    void publish(const std::string& temp, const std::string& name,
                 const std::string& text) override {
        files_[temp] = text;
        files_.erase(name);
        if (die_before_rename) return;
        files_[name] = text;
        files_.erase(temp);
    }
    bool remove(const std::string& entry) override { return files_.erase(entry) > 0; }
    std::string where(const std::string& entry) const override { return "mem:" + entry; }

    bool die_before_rename = false;
    bool is_locked = true;  // false: as ConsumerAccess::kRead, other writers may run meanwhile
    // Run before each entries() and read(): another writer's step at that moment.
    std::function<void()> on_entries;
    std::function<void(const std::string& entry)> on_read;
    std::string unreadable;  // read() of this entry fails with read_error
    ErrorCode read_error = ErrorCode::kIo;

  private:
    std::map<std::string, std::string>& files_;
};

const WalName kFour = parse_wal_name("000000010000000000000004");
const WalName kNine = parse_wal_name("000000010000000000000009");

}  // namespace

TEST_CASE("cleanup consumer store: record, replace and forget through the interface",
          "[consumer_store]") {
    std::map<std::string, std::string> files;
    ConsumerRegistry registry(std::make_unique<MemoryConsumerStore>(files));
    registry.record("a", kFour, 100);
    CHECK(files.at("a") == "cutoff = \"000000010000000000000004\"\nupdated = 100\n");
    registry.record("a", kNine, 200);
    REQUIRE(registry.load().size() == 1);
    CHECK(registry.load()[0].cutoff == kNine);
    CHECK(registry.load()[0].updated == 200);
    CHECK(files.size() == 1);
    CHECK(registry.forget("a"));
    CHECK_FALSE(registry.forget("a"));
    CHECK(files.empty());
}

TEST_CASE("cleanup consumer store: a replace stopped between remove and rename keeps the record",
          "[consumer_store]") {
    std::map<std::string, std::string> files;
    auto owned = std::make_unique<MemoryConsumerStore>(files);
    MemoryConsumerStore& store = *owned;
    ConsumerRegistry registry(std::move(owned));
    registry.record("a", kFour, 100);
    registry.record("b", kFour, 100);
    store.die_before_rename = true;
    registry.record("a", kNine, 200);
    REQUIRE(files.count(".a.tmp") == 1);
    REQUIRE(files.count("a") == 0);
    auto records = registry.load();
    REQUIRE(records.size() == 2);
    CHECK(records[0].name == "a");
    CHECK(records[0].cutoff == kNine);
    CHECK(records[1].name == "b");
    // the next record finishes it; forget removes a leftover temp too
    store.die_before_rename = false;
    registry.record("a", kNine, 300);
    CHECK(files.count(".a.tmp") == 0);
    files[".b.tmp"] = files.at("b");
    CHECK(registry.forget("b"));
    CHECK(files.count(".b.tmp") == 0);
}

TEST_CASE("cleanup consumer store: temp records beside their record, or incomplete, are ignored",
          "[consumer_store]") {
    std::map<std::string, std::string> files;
    ConsumerRegistry registry(std::make_unique<MemoryConsumerStore>(files));
    registry.record("a", kFour, 100);
    files[".a.tmp"] = "cutoff = \"000000010000000000000009\"\nupdated = 200\n";  // beside a
    files[".new.tmp"] = "cutoff = \"0000000100";                                 // unfinished
    files[".tmp"] = "x";
    files[".Bad name.tmp"] = "cutoff = \"000000010000000000000009\"\nupdated = 200\n";
    auto records = registry.load();
    REQUIRE(records.size() == 1);
    CHECK(records[0].cutoff == kFour);
}

TEST_CASE("cleanup consumer store: a temp record that cannot be read stops the cleanup",
          "[consumer_store]") {
    // Permission denied, or a dropped SFTP connection: the record may be the only one of its
    // consumer, so it cannot be taken as absent.
    for (ErrorCode code : {ErrorCode::kIo, ErrorCode::kUnavailable}) {
        INFO("error " << error_name(code));
        std::map<std::string, std::string> files;
        auto owned = std::make_unique<MemoryConsumerStore>(files);
        MemoryConsumerStore& store = *owned;
        ConsumerRegistry registry(std::move(owned));
        registry.record("a", kFour, 100);
        files[".b.tmp"] = "cutoff = \"000000010000000000000004\"\nupdated = 100\n";
        store.unreadable = ".b.tmp";
        store.read_error = code;
        CHECK_THAT(error_message(code, [&] { registry.load(); }), Contains("mem:.b.tmp"));
        // Beside its record, a temp record is not read at all.
        files["b"] = files.at(".b.tmp");
        CHECK(registry.load().size() == 2);
    }
}

TEST_CASE("cleanup consumer store: a local archive recovers a complete temp record as well",
          "[consumer_store]") {
    ScratchDir dir;
    const std::string consumers = std::string(kCleanupStateDir) + "/consumers";
    std::filesystem::create_directories(dir / consumers);
    dir.write(consumers + "/.c.tmp", "cutoff = \"000000010000000000000009\"\nupdated = 5\n");
    ConsumerRegistry registry(
        std::make_unique<LocalConsumerStore>(dir.path(), ConsumerAccess::kLock));
    auto records = registry.load();
    REQUIRE(records.size() == 1);
    CHECK(records[0].name == "c");
    CHECK(records[0].cutoff == kNine);
    CHECK(registry.forget("c"));
    CHECK(registry.load().empty());
}

TEST_CASE("cleanup consumer store: read unlocked, a record replaced under the reader is read whole",
          "[consumer_store]") {
    const std::string four = "cutoff = \"000000010000000000000004\"\nupdated = 100\n";
    const std::string nine = "cutoff = \"000000010000000000000009\"\nupdated = 200\n";
    std::map<std::string, std::string> files{{"a", four}, {"b", four}};
    auto owned = std::make_unique<MemoryConsumerStore>(files);
    MemoryConsumerStore& store = *owned;
    store.is_locked = false;
    const ConsumerRegistry registry(std::move(owned));
    // An SFTP writer replaces "a" right before the reader reads it: the complete temp record
    // and no final name; then, before the temp is read, it renames it.
    int reads_of_a = 0;
    store.on_read = [&](const std::string& entry) {
        if (entry == "a" && ++reads_of_a == 1) {
            files[".a.tmp"] = nine;
            files.erase("a");
        } else if (entry == ".a.tmp") {
            files["a"] = files.at(".a.tmp");
            files.erase(".a.tmp");
            files[".a.tmp"] = "cutoff = \"00000001";  // and a next replace begins
        }
    };
    std::vector<ConsumerRecord> records = registry.load();
    REQUIRE(records.size() == 2);
    CHECK(records[0].name == "a");
    CHECK(records[0].cutoff == kNine);
    CHECK(records[0].updated == 200);
    CHECK(records[1].cutoff == kFour);
    // Forgotten under the reader: simply absent, no error (under the lock it would be one).
    store.on_read = [&](const std::string& entry) {
        if (entry == "b") files.erase("b");
    };
    files.erase(".a.tmp");
    records = registry.load();
    REQUIRE(records.size() == 1);
    CHECK(records[0].name == "a");
}

TEST_CASE("cleanup consumer store: read unlocked, a consumer the listing missed is found",
          "[consumer_store]") {
    const std::string four = "cutoff = \"000000010000000000000004\"\nupdated = 100\n";
    std::map<std::string, std::string> files{{"a", four}, {"b", four}};
    auto owned = std::make_unique<MemoryConsumerStore>(files);
    MemoryConsumerStore& store = *owned;
    store.is_locked = false;
    const ConsumerRegistry registry(std::move(owned));
    // The first listing runs into a rename of "b" and sees neither of its names.
    int listings = 0;
    std::string hidden;
    store.on_entries = [&] {
        if (++listings == 1) {
            hidden = files.at("b");
            files.erase("b");
        } else if (!hidden.empty()) {
            files["b"] = std::exchange(hidden, {});
        }
    };
    std::vector<ConsumerRecord> records = registry.load();
    REQUIRE(records.size() == 2);
    CHECK(records[1].name == "b");
    CHECK(listings >= 3);  // the listings around the second read agreed
    // Locked, one listing is the truth: no second one.
    listings = 0;
    store.on_entries = [&] { ++listings; };
    store.is_locked = true;
    CHECK(registry.load().size() == 2);
    CHECK(listings == 1);
}

TEST_CASE("cleanup consumer store: read unlocked, records that never stop changing are an error",
          "[consumer_store]") {
    std::map<std::string, std::string> files;
    auto owned = std::make_unique<MemoryConsumerStore>(files);
    MemoryConsumerStore& store = *owned;
    store.is_locked = false;
    const ConsumerRegistry registry(std::move(owned));
    int listings = 0;
    store.on_entries = [&] {
        files["c" + std::to_string(++listings)] =
            "cutoff = \"000000010000000000000004\"\nupdated = 1\n";
    };
    CHECK_THAT(error_message(ErrorCode::kUnavailable, [&] { registry.load(); }),
               Contains("kept changing"));
}
