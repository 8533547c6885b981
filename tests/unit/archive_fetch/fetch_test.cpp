// run_fetch, the whole restore_command call, over in-memory sources: sources in order, a source
// that does not answer retried and then passed over, a damaged copy passed over, and the exit
// contract: "not found" (1) only when every source answered; any other failure 255 in targeted
// recovery and 1 in standby mode. Exit statuses and messages are those of the binary: run
// through run_tool with failure_status, as main does.
#include "archive_fetch/fetch.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "archive/archive_info.h"
#include "command_run.h"
#include "memory_store_opener.h"
#include "prepared_history.h"
#include "scratch_dir.h"

using namespace walferry;
using walferry::testing::MemoryDestinations;
namespace fs = std::filesystem;

namespace {

const std::string& kTwo = walferry::testing::kHistoryTwo;
const std::string kStoredTwo = "00000002.history.zst";

using Run = walferry::testing::CommandRun;

// A data directory and in-memory sources (by default "a" and "b", in that order) named in a
// config. Each is an archive walferry pushed to (it holds walferry.info) without the file.
class FetchSetup {
  public:
    explicit FetchSetup(const std::vector<std::string>& names = {"a", "b"}) {
        fs::create_directories(scratch_ / "data/pg_wal");
        for (const std::string& name : names)
            stores[name].set(kArchiveInfoName, format_archive_info({7, 15, 16u << 20}));
        scratch_.write("walferry.toml", "spool = \"" + (scratch_ / "spool") +
                                            "\"\n[fetch]\nretries = 1\nretry_delay_ms = 0\n" +
                                            walferry::testing::destination_tables(names));
    }

    std::string config() const { return scratch_ / "walferry.toml"; }

    // Source `name` holds 00000002.history as push stores it; `damaged`: one payload byte
    // flipped.
    void store_two(const std::string& name, bool damaged = false) {
        const PreparedWal wal = walferry::testing::prepared_history(2, kTwo);
        std::vector<std::uint8_t> bytes = wal.file.meta_frame;
        bytes.insert(bytes.end(), wal.file.payload.begin(), wal.file.payload.end());
        if (damaged) bytes.back() ^= 0x01;
        stores[name].files[kStoredTwo] = bytes;
    }

    std::string target() const { return scratch_ / "data/pg_wal/RECOVERYHISTORY"; }
    std::string restored() const { return scratch_.read("data/pg_wal/RECOVERYHISTORY"); }
    bool target_exists() const { return fs::exists(target()); }

    // walferry-fetch 00000002.history %p --mode MODE, as main runs it.
    Run fetch(RecoveryMode mode) {
        FetchOptions options;
        options.wal_file = "00000002.history";
        options.target_path = target();
        options.config_path = config();
        options.mode = mode;
        return walferry::testing::run_command(
            "walferry-fetch", [&] { return run_fetch(options, stores.opener()); },
            [&](ErrorCode code) { return failure_status(code, mode, scratch_.path()); });
    }

    MemoryDestinations stores;

  private:
    ScratchDir scratch_;
};

constexpr RecoveryMode kModes[] = {RecoveryMode::kRecovery, RecoveryMode::kStandby};

std::string mode_text(RecoveryMode mode) {
    return mode == RecoveryMode::kRecovery ? "stopping recovery rather than ending it early"
                                           : "standby mode: the server will ask again";
}

// What a call says of source `name`'s damaged copy (store_two(name, true)).
std::string damaged_line(const std::string& name) {
    return "walferry-fetch: error: \"00000002.history.zst\" in memory://" + name +
           " is damaged: zstd content checksum does not match: the compressed data is damaged "
           "(WF007)\n";
}

}  // namespace

TEST_CASE("fetch hands over the first source's copy and asks no other", "[fetch]") {
    FetchSetup s;
    s.store_two("a");
    s.store_two("b");
    const Run run = s.fetch(RecoveryMode::kRecovery);
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    CHECK(s.restored() == kTwo);
    CHECK(s.stores.opens("b") == 0);
}

TEST_CASE("fetch retries a source that does not answer, then takes the next one's copy",
          "[fetch]") {
    FetchSetup s;
    s.store_two("a");
    s.store_two("b");
    s.stores["a"].fail(std::nullopt, ErrorCode::kUnavailable);
    const Run run = s.fetch(RecoveryMode::kRecovery);
    CHECK(run.status == 0);
    CHECK(run.err == "walferry-fetch: error: memory://a: injected failure in get (WF012)\n");
    CHECK(s.stores.opens("a") == 2);  // retries = 1
    CHECK(s.restored() == kTwo);
}

TEST_CASE("fetch passes over a damaged copy, says so, and takes the next source's", "[fetch]") {
    FetchSetup s;
    s.store_two("a", true);
    s.store_two("b");
    const Run run = s.fetch(RecoveryMode::kRecovery);
    CHECK(run.status == 0);
    CHECK(run.err == damaged_line("a"));
    CHECK(s.stores.opens("a") == 1);  // a damaged copy is an answer: never retried
    CHECK(s.restored() == kTwo);
}

TEST_CASE("fetch exits 1 and says nothing when every source answered that it has no copy",
          "[fetch]") {
    for (RecoveryMode mode : kModes) {
        FetchSetup s;
        const Run run = s.fetch(mode);
        CHECK(run.status == 1);
        CHECK(run.err.empty());
        CHECK_FALSE(s.target_exists());
    }
}

TEST_CASE("fetch stops a targeted recovery but not a standby when a source did not answer",
          "[fetch]") {
    for (RecoveryMode mode : kModes) {
        FetchSetup s;
        s.stores["b"].fail(std::nullopt, ErrorCode::kIo);  // a answers "not found"
        const Run run = s.fetch(mode);
        CHECK(run.status == (mode == RecoveryMode::kRecovery ? 255 : 1));
        CHECK(run.err ==
              "walferry-fetch: error: memory://b: injected failure in get (WF011)\n"
              "walferry-fetch: error: no usable copy of \"00000002.history\" in 2 "
              "source(s); " +
                  mode_text(mode) + " (WF011)\n");
        CHECK(s.stores.opens("b") == 1);  // an I/O error is not retried
        CHECK_FALSE(s.target_exists());
    }
}

TEST_CASE("fetch stops a targeted recovery but not a standby when a source has no walferry.info",
          "[fetch]") {
    for (RecoveryMode mode : kModes) {
        FetchSetup s;
        s.stores["a"].files.erase(std::string(kArchiveInfoName));  // a wrong path, say
        const Run run = s.fetch(mode);
        CHECK(run.status == (mode == RecoveryMode::kRecovery ? 255 : 1));
        CHECK(run.err ==
              "walferry-fetch: error: memory://a has no walferry.info: not an archive walferry "
              "pushed to (a wrong path, or nothing pushed yet), so it cannot tell that a file is "
              "not archived (WF010)\n"
              "walferry-fetch: error: no usable copy of \"00000002.history\" in 2 source(s); " +
                  mode_text(mode) + " (WF010)\n");
    }
}

TEST_CASE("fetch stops a targeted recovery but not a standby when every copy is damaged",
          "[fetch]") {
    for (RecoveryMode mode : kModes) {
        FetchSetup s;
        s.store_two("a", true);
        s.store_two("b", true);
        const Run run = s.fetch(mode);
        CHECK(run.status == (mode == RecoveryMode::kRecovery ? 255 : 1));
        // Each copy said, then the end: with the first failure's code.
        CHECK(run.err == damaged_line("a") + damaged_line("b") +
                             "walferry-fetch: error: no usable copy of \"00000002.history\" in 2 "
                             "source(s); " +
                             mode_text(mode) + " (WF007)\n");
        CHECK_FALSE(s.target_exists());
    }
}

TEST_CASE("fetch with no source configured follows the mode", "[fetch]") {
    for (RecoveryMode mode : kModes) {
        FetchSetup s(std::vector<std::string>{});
        const Run run = s.fetch(mode);
        CHECK(run.status == (mode == RecoveryMode::kRecovery ? 255 : 1));
        CHECK(run.err == "walferry-fetch: error: no source given on the command line or in \"" +
                             s.config() + "\" (WF010)\n");
    }
}
