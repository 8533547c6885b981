// Publishing one file into one store: what an "already there" answer vouches for. It is given
// only for a stored copy that reads back whole (container, size, SHA-256), and only once the
// stored name is durable (fsync of the file and its directory, as for a fresh put).
#include "archive_push/publish.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "memory_store.h"
#include "prepared_history.h"
#include "scratch_dir.h"
#include "store/file_store.h"

using namespace walferry;
using walferry::testing::error_of;
using walferry::testing::prepared_history;

namespace {

const std::string kText = "1\t0/2000000\tbefore the promotion of the standby\n";
const std::string kStored = "00000002.history.zst";

std::vector<std::uint8_t> stored_bytes(const PreparedWal& wal) {
    std::vector<std::uint8_t> bytes = wal.file.meta_frame;
    bytes.insert(bytes.end(), wal.file.payload.begin(), wal.file.payload.end());
    return bytes;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("an identical stored copy compressed otherwise is already present", "[publish]") {
    MemoryStore store;
    store.files[kStored] = stored_bytes(prepared_history(2, kText, 19));
    const PreparedWal ours = prepared_history(2, kText, 1);
    CHECK(Publisher(store).publish(ours) == PublishOutcome::kAlreadyPresent);
    CHECK(Publisher(store).publish(ours, false) == PublishOutcome::kAlreadyPresent);
    CHECK(store.puts.empty());
}

TEST_CASE("a truncated stored copy with intact metadata is refused and never answered 0",
          "[publish]") {
    const PreparedWal wal = prepared_history(2, kText);
    std::vector<std::uint8_t> truncated = stored_bytes(wal);
    truncated.resize(wal.file.meta_frame.size() + wal.file.payload.size() / 2);
    for (bool look_first : {true, false}) {
        MemoryStore store;
        store.files[kStored] = truncated;
        Error e = error_of([&] { Publisher(store).publish(wal, look_first); });
        CHECK(
            (e.code() == ErrorCode::kInvalidContainer || e.code() == ErrorCode::kChecksumMismatch));
        CHECK_THAT(e.what(), Catch::Contains(kStored) && Catch::Contains("damaged") &&
                                 Catch::Contains("left untouched"));
        CHECK(store.files[kStored] == truncated);  // never overwritten
    }
}

TEST_CASE("a stored copy with a flipped payload byte is refused", "[publish]") {
    const PreparedWal wal = prepared_history(2, kText);
    MemoryStore store;
    store.files[kStored] = stored_bytes(wal);
    store.files[kStored].back() ^= 0x01;
    const std::vector<std::uint8_t> damaged = store.files[kStored];
    Error e = error_of([&] { Publisher(store).publish(wal); });
    CHECK((e.code() == ErrorCode::kInvalidContainer || e.code() == ErrorCode::kChecksumMismatch));
    CHECK(store.files[kStored] == damaged);
}

TEST_CASE("an already present answer makes the stored name durable", "[publish]") {
    ScratchDir dir;
    FileStore store(dir.path());
    const PreparedWal wal = prepared_history(2, kText);
    REQUIRE(Publisher(store).publish(wal) == PublishOutcome::kStored);
    for (bool look_first : {true, false}) {
        // As after a push killed between the link and the directory fsync: the retry must sync.
        std::vector<std::string> synced;
        store.on_fsync = [&](const std::string& path) { synced.push_back(path); };
        CHECK(Publisher(store).publish(wal, look_first) == PublishOutcome::kAlreadyPresent);
        CHECK(contains(synced, dir / kStored));
        CHECK(contains(synced, dir.path()));
    }
}

TEST_CASE("an already present answer syncs the name in every store", "[publish]") {
    MemoryStore store;
    const PreparedWal wal = prepared_history(2, kText);
    store.files[kStored] = stored_bytes(wal);
    CHECK(Publisher(store).publish(wal) == PublishOutcome::kAlreadyPresent);
    CHECK(contains(store.calls, "sync " + kStored));
}
