// run_push, the whole archive_command call, over in-memory destinations: required = N, the
// backlog and its cap, destinations left alone after a failure, --drain, and a refusal (a
// different file under the name) told apart from a destination that cannot be reached. Exit
// statuses and messages are those of the binary: run through run_tool as main does.
#include "archive_push/push.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "archive/sha256.h"
#include "archive_push/backlog.h"
#include "archive_push/spool.h"
#include "archive_push/unreachable.h"
#include "command_run.h"
#include "memory_store_opener.h"
#include "prepared_history.h"
#include "scratch_dir.h"

using namespace walferry;
using walferry::testing::MemoryDestinations;
namespace fs = std::filesystem;

namespace {

const std::string& kTwo = walferry::testing::kHistoryTwo;
const std::string kThree = "2\t0/5000000\tno recovery target specified\n";
constexpr std::string_view kStoredTwo = "00000002.history.zst";
constexpr std::string_view kStoredThree = "00000003.history.zst";

using Run = walferry::testing::CommandRun;

// A data directory, a spool and in-memory destinations named in a config.
class PushSetup {
  public:
    // `settings`: top-level config lines, e.g. "required = 2\n".
    explicit PushSetup(const std::string& settings,
                       const std::vector<std::string>& names = {"a", "b", "c"}) {
        fs::create_directories(scratch_ / "data/pg_wal");
        for (const std::string& name : names) stores[name];
        const std::string config = "spool = \"" + (scratch_ / "spool") + "\"\n" + settings +
                                   walferry::testing::destination_tables(names);
        scratch_.write("walferry.toml", config);
    }

    // A WAL file in pg_wal; its path.
    std::string wal(const std::string& name, const std::string& text) const {
        scratch_.write("data/pg_wal/" + name, text);
        return scratch_ / ("data/pg_wal/" + name);
    }

    Spool spool() const { return Spool(scratch_ / "spool"); }

    // walferry-push of a new 00000002.history, with the stores of `down` failing with `code`.
    Run push_two(const std::vector<std::string>& down = {},
                 ErrorCode code = ErrorCode::kUnavailable) {
        for (const std::string& name : down) stores[name].fail(std::nullopt, code);
        return push(wal("00000002.history", kTwo));
    }

    // Entries of the backlog of destination `name` (none: no backlog at all).
    std::vector<std::string> backlog(const std::string& name) const {
        std::unique_ptr<Store> queue = spool().backlog(name, false);
        return queue ? backlog_entries(*queue) : std::vector<std::string>{};
    }

    // walferry-push WAL_PATH (or --drain), as main runs it.
    Run push(const std::string& wal_path, bool drain = false) {
        PushOptions options;
        options.wal_path = wal_path;
        options.drain = drain;
        options.config_path = scratch_ / "walferry.toml";
        return walferry::testing::run_command("walferry-push",
                                              [&] { return run_push(options, stores.opener()); });
    }

    MemoryDestinations stores;

  private:
    ScratchDir scratch_;
};

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("push stores the file in every destination and a second push writes nothing", "[push]") {
    PushSetup s("");
    const std::string wal = s.wal("00000002.history", kTwo);
    Run run = s.push(wal);
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    for (const std::string name : {"a", "b", "c"}) {
        CHECK(s.stores[name].puts == Names{std::string(kStoredTwo)});
        CHECK(s.stores.opens(name) == 1);
    }
    // PostgreSQL retried (the first call was killed after storing): identical, so 0, untouched.
    run = s.push(wal);
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    for (const std::string name : {"a", "b", "c"}) {
        CHECK(s.stores[name].puts.size() == 1);
        CHECK(s.stores[name].calls.back() == "sync " + std::string(kStoredTwo));
    }
}

TEST_CASE("push with required = all fails when one destination fails", "[push]") {
    PushSetup s("");
    const Run run = s.push_two({"b"}, ErrorCode::kIo);
    CHECK(run.status == 8);
    CHECK(run.err == "walferry-push: error: memory://b: injected failure in stat (WF011)\n");
    CHECK(s.backlog("b").empty());  // nothing queued without required = N
}

TEST_CASE("push with required = N succeeds once N hold the file and queues it for the others",
          "[push]") {
    PushSetup s("required = 2\n");
    const Run run = s.push_two({"c"}, ErrorCode::kIo);
    CHECK(run.status == 0);
    CHECK(run.err ==
          "walferry-push: warning: \"c\": memory://c: injected failure in stat; "
          "\"00000002.history\" queued in the backlog\n");
    CHECK(s.stores["a"].puts == Names{std::string(kStoredTwo)});
    CHECK(s.stores["b"].puts == Names{std::string(kStoredTwo)});
    CHECK(s.stores["c"].files.empty());
    const Names queued = s.backlog("c");
    REQUIRE(queued.size() == 1);
    CHECK(queued[0].ends_with("." + std::string(kStoredTwo)));
    CHECK(s.backlog("a").empty());
    CHECK(s.backlog("b").empty());
    // Failing to be reached is remembered; the others answered.
    const auto ages = unreachable_ages(s.spool(), {"a", "b", "c"});
    CHECK_FALSE(ages[0]);
    CHECK_FALSE(ages[1]);
    CHECK(ages[2]);
}

TEST_CASE("push with required = N fails when fewer than N hold the file and queues nothing",
          "[push]") {
    PushSetup s("required = 2\n");
    const Run run = s.push_two({"b", "c"}, ErrorCode::kIo);
    CHECK(run.status == 8);
    // Every destination's own failure, the first one as the error.
    CHECK(run.err ==
          "walferry-push: error: memory://c: injected failure in stat\n"
          "walferry-push: error: memory://b: injected failure in stat (WF011)\n");
    CHECK(s.stores["a"].puts == Names{std::string(kStoredTwo)});
    CHECK(s.backlog("b").empty());
    CHECK(s.backlog("c").empty());
}

TEST_CASE("a destination that just failed is left alone while the others make the quorum",
          "[push]") {
    PushSetup s("required = 2\n");
    REQUIRE(s.push_two({"c"}).status == 0);
    s.stores["c"].heal();
    const std::size_t calls = s.stores["c"].calls.size();

    // The next push does not even open it: the file goes to its backlog, said as "not tried".
    Run run = s.push(s.wal("00000003.history", kThree));
    CHECK(run.status == 0);
    CHECK_THAT(run.err,
               Catch::Matches("walferry-push: warning: \"c\": not tried: it failed [0-9]+ s ago "
                              "\\(tried again 30 s after a failure, or now by --drain\\); "
                              "\"00000003\\.history\" queued in the backlog\n"));
    CHECK(s.stores.opens("c") == 1);
    CHECK(s.stores["c"].calls.size() == calls);
    CHECK(s.backlog("c").size() == 2);

    // --drain tries it at once and sends its backlog oldest first.
    run = s.push("", true);
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    CHECK(s.stores["c"].puts == Names{std::string(kStoredTwo), std::string(kStoredThree)});
    CHECK(s.backlog("c").empty());
    CHECK_FALSE(unreachable_ages(s.spool(), {"c"})[0]);  // it answered
    CHECK(s.stores["a"].puts.size() == 2);               // nothing sent twice elsewhere
}

TEST_CASE("push --drain fails with a destination that still does not answer, keeping its backlog",
          "[push]") {
    PushSetup s("required = 1\n", {"a", "b"});
    REQUIRE(s.push_two({"b"}).status == 0);
    const Run run = s.push("", true);
    CHECK(run.status == 9);
    CHECK(run.err ==
          "walferry-push: error: backlog of \"b\" not sent: memory://b: injected failure in stat "
          "(WF012)\n");
    CHECK(s.backlog("b").size() == 1);
    CHECK(s.stores["b"].files.empty());
}

TEST_CASE("push fails rather than queue past backlog_cap_bytes", "[push]") {
    PushSetup s("required = 1\nbacklog_cap_bytes = 10\n", {"a", "b"});
    s.stores["b"].fail(std::nullopt, ErrorCode::kUnavailable);
    const std::string wal = s.wal("00000002.history", kTwo);
    Run run = s.push(wal);
    const std::size_t stored = s.stores["a"].files.at(std::string(kStoredTwo)).size();
    CHECK(run.status == 9);
    CHECK(run.err ==
          "walferry-push: error: \"00000002.history\": memory://b: injected failure in "
          "stat; the backlog cannot take it (0 + " +
              std::to_string(stored) + " bytes > backlog_cap_bytes 10) (WF012)\n");
    CHECK(s.backlog("b").empty());
    // PostgreSQL retries: b is tried again at once, not left alone, since its backlog could not
    // take the file: it may be back.
    run = s.push(wal);
    CHECK(run.status == 9);
    CHECK(s.stores.opens("b") == 2);
    s.stores["b"].heal();
    run = s.push(wal);
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    CHECK(s.stores["b"].puts == Names{std::string(kStoredTwo)});
}

TEST_CASE("a destination holding another file under the name refuses it: exit 5, untouched",
          "[push]") {
    PushSetup s("required = 1\n", {"a", "b"});
    const PreparedWal other = walferry::testing::prepared_history(2, "1\t0/4000000\tother\n");
    const std::span<const std::uint8_t> parts[] = {other.file.meta_frame, other.file.payload};
    REQUIRE(s.stores["a"].put(kStoredTwo, parts));
    const std::vector<std::uint8_t> before = s.stores["a"].files.at(std::string(kStoredTwo));
    s.stores["a"].puts.clear();

    const Run run = s.push_two();
    // A conflict is never queued, even though b alone makes required = 1.
    CHECK(run.status == 5);
    const std::string ours = to_hex(walferry::testing::prepared_history(2, kTwo).file.meta.sha256);
    CHECK(run.err ==
          "walferry-push: error: \"00000002.history.zst\" already exists in memory://a "
          "with different content: stored sha256 " +
              to_hex(other.file.meta.sha256) + ", new sha256 " + ours +
              "; left untouched (WF008)\n");
    CHECK(s.stores["a"].files.at(std::string(kStoredTwo)) == before);
    CHECK(s.stores["a"].puts.empty());
    CHECK(s.stores["b"].puts == Names{std::string(kStoredTwo)});
    CHECK(s.backlog("a").empty());
    // It answered: a refusal is no reason to leave it alone next time.
    CHECK_FALSE(unreachable_ages(s.spool(), {"a"})[0]);
}

TEST_CASE("a destination that cannot be reached is no refusal: queued, and remembered", "[push]") {
    PushSetup s("required = 1\n", {"a", "b"});
    const Run run = s.push_two({"a"}, ErrorCode::kIo);
    CHECK(run.status == 0);
    CHECK(run.err ==
          "walferry-push: warning: \"a\": memory://a: injected failure in stat; "
          "\"00000002.history\" queued in the backlog\n");
    CHECK(s.backlog("a").size() == 1);
    CHECK(unreachable_ages(s.spool(), {"a"})[0]);
}
