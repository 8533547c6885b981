// run_cleanup, one whole walferry-cleanup call, on an archive whose files are in memory (its
// consumer records in the local archive directory, as for any local archive): what a cutoff
// removes, consumers holding each other back, and the usage errors of pg_archivecleanup. Exit
// statuses and messages are those of the binary: run through run_tool with cleanup_exit_code,
// as main does.
#include "cleanup/cleanup.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "archive/archive_info.h"
#include "command_run.h"
#include "memory_store_opener.h"
#include "scratch_dir.h"

using namespace walferry;
using walferry::testing::MemoryDestinations;

namespace {

using Names = std::vector<std::string>;

using Run = walferry::testing::CommandRun;

// ARCHIVEDIR, an existing directory; the archive's files are those of the memory store the
// opener gives for it: walferry.info and segments 1 to 6 of timeline 1.
class CleanupSetup {
  public:
    CleanupSetup() {
        MemoryStore& store = archive();
        store.consumer_dir = dir_.path();
        store.set(kArchiveInfoName, format_archive_info({7, 15, 16u << 20}));
        for (int seg = 1; seg <= 6; ++seg) store.set(segment(seg), "stored segment");
    }

    static std::string segment(int seg) {
        return "00000001000000000000000" + std::to_string(seg) + ".zst";
    }

    MemoryStore& archive() { return stores["file://" + dir_.path()]; }
    const std::string& dir() const { return dir_.path(); }

    // walferry-cleanup [options] ARCHIVEDIR [CUTOFF], as main runs it.
    Run cleanup(CleanupOptionsCli options) {
        if (options.archive.empty()) options.archive = dir_.path();
        return walferry::testing::run_command(
            "walferry-cleanup", [&] { return run_cleanup(options, stores.opener()); },
            cleanup_exit_code);
    }

    MemoryDestinations stores;

  private:
    ScratchDir dir_;
};

CleanupOptionsCli cutoff(const std::string& name, std::optional<std::string> consumer = {}) {
    CleanupOptionsCli o;
    o.cutoff = name;
    o.consumer = std::move(consumer);
    return o;
}

}  // namespace

TEST_CASE("cleanup removes from the archive's store what the cutoff no longer needs", "[cleanup]") {
    CleanupSetup s;
    CleanupOptionsCli o = cutoff("000000010000000000000004");
    o.debug = true;
    const Run run = s.cleanup(o);
    CHECK(run.status == 0);
    CHECK(s.archive().removes ==
          Names{CleanupSetup::segment(1), CleanupSetup::segment(2), CleanupSetup::segment(3)});
    CHECK(
        run.err ==
        "walferry-cleanup: removing file \"000000010000000000000001.zst\": before cutoff on path\n"
        "walferry-cleanup: removing file \"000000010000000000000002.zst\": before cutoff on path\n"
        "walferry-cleanup: removing file \"000000010000000000000003.zst\": before cutoff on path\n"
        "walferry-cleanup: summary: removed 3 files (42 B), kept 4 files (106 B) — keep at or "
        "after cutoff on path: 3 (42 B); keep not a WAL file: 1 (64 B); remove before cutoff on "
        "path: 3 (42 B)\n");
    CHECK(s.stores.opens("file://" + s.dir()) == 1);
}

TEST_CASE("cleanup removes only what every recorded consumer is past", "[cleanup]") {
    CleanupSetup s;
    REQUIRE(s.cleanup(cutoff("000000010000000000000003", "sb1")).status == 0);
    CHECK(s.archive().removes == Names{CleanupSetup::segment(1), CleanupSetup::segment(2)});
    // sb2 is further on; sb1 still needs 3.
    REQUIRE(s.cleanup(cutoff("000000010000000000000005", "sb2")).status == 0);
    CHECK(s.archive().removes.size() == 2);
    // Once sb1 is forgotten, sb2's cutoff alone decides.
    CleanupOptionsCli forget;
    forget.forget_consumer = "sb1";
    Run run = s.cleanup(forget);
    CHECK(run.status == 0);
    CHECK(run.err.empty());
    REQUIRE(s.cleanup(cutoff("000000010000000000000005", "sb2")).status == 0);
    CHECK(s.archive().removes == Names{CleanupSetup::segment(1), CleanupSetup::segment(2),
                                       CleanupSetup::segment(3), CleanupSetup::segment(4)});
    // A consumer that was never recorded: exit 1, naming the archive.
    run = s.cleanup(forget);
    CHECK(run.status == 1);
    CHECK(run.err == "walferry-cleanup: error: no consumer \"sb1\" is recorded in \"" + s.dir() +
                         "\" (WF016)\n");
}

TEST_CASE("cleanup of a missing archive directory is a usage error and opens no store",
          "[cleanup]") {
    CleanupSetup s;
    CleanupOptionsCli o = cutoff("000000010000000000000004");
    o.archive = s.dir() + "/missing";
    const Run run = s.cleanup(o);
    CHECK(run.status == 2);
    CHECK(run.err == "walferry-cleanup: error: archive location \"" + o.archive +
                         "\" does not exist (WF001)\n"
                         "Try \"walferry-cleanup --help\" for more information.\n");
    CHECK(s.stores.opens("file://" + s.dir()) == 0);
    CHECK(s.archive().removes.empty());
}

TEST_CASE("cleanup without a cutoff is a usage error and removes nothing", "[cleanup]") {
    CleanupSetup s;
    const Run run = s.cleanup(CleanupOptionsCli{});
    CHECK(run.status == 2);
    CHECK(run.err ==
          "walferry-cleanup: error: must specify oldest kept WAL file (WF001)\n"
          "Try \"walferry-cleanup --help\" for more information.\n");
    CHECK(s.archive().removes.empty());
}
