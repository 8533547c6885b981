// ConsumerRegistry over its ConsumerStore interface: the record format and the recovery of a
// replace that stopped half-way (SFTP replaces a record in two steps), shared by local and SFTP
// archives; and the lock holder's description of SFTP archives.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "base/error.h"
#include "cleanup/consumer_registry.h"
#include "cleanup/sftp_consumer_store.h"
#include "expect_error.h"
#include "scratch_dir.h"

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
    std::vector<std::string> entries() override {
        std::vector<std::string> out;
        for (const auto& [name, text] : files_) out.push_back(name);
        return out;
    }
    std::optional<std::string> read(const std::string& entry, std::size_t) override {
        if (entry == unreadable) throw Error(read_error, "cannot read \"mem:" + entry + "\"");
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
    ConsumerRegistry registry(dir.path(), false);
    auto records = registry.load();
    REQUIRE(records.size() == 1);
    CHECK(records[0].name == "c");
    CHECK(records[0].cutoff == kNine);
    CHECK(registry.forget("c"));
    CHECK(registry.load().empty());
}

TEST_CASE("cleanup sftp lock: the holder in one line", "[consumer_store]") {
    CHECK(describe_lock_holder("host=db2\npid=4711\ntime=0\n") ==
          "host db2, pid 4711, since 1970-01-01 00:00:00 UTC");
    CHECK(describe_lock_holder("pid=1\nhost=a\n") == "host a, pid 1");
    CHECK(describe_lock_holder("") == "an unknown holder");
    CHECK(describe_lock_holder("garbage\n\x01") == "an unknown holder");
    const std::string odd =
        describe_lock_holder("host=a\nb\x01\npid=99999999999999999999999\ntime=x");
    CHECK(odd.find('\n') == std::string::npos);
    CHECK(odd.find('\x01') == std::string::npos);
}
