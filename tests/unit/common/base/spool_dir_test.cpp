// The spool's directories are walferry's own: a symbolic link planted at the root, at one of its
// subdirectories or at prefetch/<key>, a directory of another user or one others can write, is
// refused and never followed; nothing outside the spool is removed (issue 10, point 4).
#include "base/spool_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "archive_fetch/prefetch.h"
#include "archive_fetch/prefetch_plan.h"
#include "archive_fetch/prefetch_spool.h"
#include "archive_push/spool.h"
#include "archive_push/unreachable.h"
#include "base/error.h"
#include "cli/config.h"
#include "expect_error.h"
#include "scratch_dir.h"

using namespace walferry;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSysid = 7300000000000000001ULL;
const std::vector<std::string> kVictims = {"000000010000000000000006",
                                           "000000010000000000000006.ok",
                                           "000000010000000000000007.zst",
                                           "lock",
                                           "damaged.000000010000000000000008.zst.0",
                                           ".x.walferry-tmp.123456"};

// A directory standing for pg_wal (or an archive): WAL-named files and names the spool uses.
void make_victim(const std::string& dir) {
    fs::create_directories(dir);
    for (const std::string& name : kVictims) std::ofstream(dir + "/" + name) << "precious";
}

void check_victim_intact(const std::string& dir) {
    std::vector<std::string> want = kVictims;
    std::sort(want.begin(), want.end());
    CHECK(names_in(dir) == want);
    for (const std::string& name : kVictims) {
        std::ifstream in(dir + "/" + name);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        CHECK(text == "precious");
    }
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string refusal(const std::string& root, const std::string& relative, bool create) {
    return test_errors::error_message(ErrorCode::kInvalidState,
                                      [&] { open_spool_dir(root, relative, create); });
}

}  // namespace

TEST_CASE("spool directories are made 0700 and opened without following links", "[spool_dir]") {
    ScratchDir scratch;
    const std::string root = scratch / "var/spool";
    CHECK_FALSE(open_spool_dir(root, "prefetch/abc", false));  // missing: nothing made
    CHECK_FALSE(fs::exists(root));
    UniqueFd fd = open_spool_dir(root, "prefetch/abc", true);
    REQUIRE(fd);
    for (const std::string& d : {root, root + "/prefetch", root + "/prefetch/abc"}) {
        CHECK(mode_of(d) == 0700);
    }
    CHECK(open_spool_dir(root, "prefetch/abc", false));
    CHECK(open_spool_dir(root, "", false));
    CHECK_THROWS_AS(open_spool_dir("relative", "", true), Error);
    CHECK_THROWS_AS(open_spool_dir(root, "../x", true), Error);
}

TEST_CASE("a symbolic link anywhere in the spool is refused and nothing behind it touched",
          "[spool_dir]") {
    ScratchDir scratch;
    const std::string victim = scratch / "pg_wal";
    make_victim(victim);
    const std::string root = scratch / "spool";
    SECTION("the root") {
        fs::create_directory_symlink(victim, root);
        CHECK(refusal(root, "", false).find("\"" + root + "\" is a symbolic link") !=
              std::string::npos);
        refusal(root, "prefetch/abc", true);
    }
    SECTION("prefetch/") {
        fs::create_directories(root);
        fs::permissions(root, fs::perms::owner_all);
        fs::create_directory_symlink(victim, root + "/prefetch");
        CHECK(refusal(root, "prefetch/abc", true)
                  .find("\"" + root + "/prefetch\" is a symbolic link") != std::string::npos);
    }
    SECTION("prefetch/<key>") {
        fs::create_directories(root + "/prefetch");
        fs::create_directory_symlink(victim, root + "/prefetch/abc");
        refusal(root, "prefetch/abc", false);
        refusal(root, "prefetch/abc", true);
    }
    SECTION("a file in place of a directory") {
        fs::create_directories(root);
        std::ofstream(root + "/batch") << "x";
        CHECK(refusal(root, "batch", true).find("is not a directory") != std::string::npos);
    }
    check_victim_intact(victim);
}

TEST_CASE(
    "a spool directory others can write is refused and a subdirectory they can read is made "
    "private",
    "[spool_dir]") {
    ScratchDir scratch;
    const std::string root = scratch / "spool";
    REQUIRE(open_spool_dir(root, "backlog", true));
    fs::permissions(root + "/backlog", fs::perms::all);  // 0777
    std::string message = refusal(root, "backlog/k", true);
    CHECK(message.find("is writable by other users (mode 0777") != std::string::npos);
    CHECK_FALSE(fs::exists(root + "/backlog/k"));
    ::chmod((root + "/backlog").c_str(), 0770);
    refusal(root, "backlog", false);
    // Readable by others only: a subdirectory is made private again; the root, which may be an
    // operator's directory (`mkdir`, 0755), is used as it is.
    ::chmod((root + "/backlog").c_str(), 0755);
    ::chmod(root.c_str(), 0755);
    CHECK(open_spool_dir(root, "backlog", false));
    CHECK(mode_of(root) == 0755);
    CHECK(mode_of(root + "/backlog") == 0700);
    // A root others can write is refused like any spool directory.
    ::chmod(root.c_str(), 0777);
    refusal(root, "", false);
}

TEST_CASE("a spool directory owned by another user is refused", "[spool_dir]") {
    if (::geteuid() != 0) {
        WARN("not root: cannot give a directory to another user; not run");
        return;
    }
    ScratchDir scratch;
    const std::string root = scratch / "spool";
    REQUIRE(open_spool_dir(root, "prefetch/abc", true));
    REQUIRE(::chown((root + "/prefetch/abc").c_str(), 65534, 65534) == 0);  // nobody
    CHECK(refusal(root, "prefetch/abc", false).find("is owned by uid 65534, not by this user") !=
          std::string::npos);
    REQUIRE(::chown(root.c_str(), 65534, 65534) == 0);
    refusal(root, "", false);
}

TEST_CASE("a prefetch spool planted as a link to pg_wal: no prefetch and nothing removed",
          "[spool_dir]") {
    ScratchDir scratch;
    const std::string victim = scratch / "data/pg_wal";
    make_victim(victim);
    const std::string target = victim + "/RECOVERYXLOG";
    std::vector<Destination> sources(1);
    sources[0].location = parse_location("sftp://u@h:22/archive", "/");
    const std::string root = scratch / "spool";
    const std::string key = prefetch_dir(target, sources);
    fs::create_directories(root + "/prefetch");
    fs::permissions(root, fs::perms::owner_all);
    fs::permissions(root + "/prefetch", fs::perms::owner_all);
    fs::create_directory_symlink(victim, root + "/" + key);

    Config config;
    config.spool = root;
    CHECK_FALSE(Prefetcher::open(config, sources, target, kSysid, false, open_store).has_value());
    // What a worker or a call would do with it, had it been opened: all refused.
    PrefetchSpool spool(root, key, kSysid);
    CHECK_THROWS_AS(spool.try_lock(), Error);
    CHECK_THROWS_AS(spool.entries(), Error);
    spool.remove_leftovers();
    spool.remove(parse_wal_name("000000010000000000000006"));
    CHECK(spool.take_damage_notes().empty());
    spool.note_damage({"sftp://u@h:22/archive", "000000010000000000000006.zst",
                       ErrorCode::kChecksumMismatch, "m"},
                      0);
    CHECK_THROWS_AS(
        fill_spool(spool, sources,
                   prefetch_window(parse_wal_name("000000010000000000000005"), 1u << 20, 4),
                   open_store),
        Error);
    check_victim_intact(victim);
}

TEST_CASE("an entry planted as a link is removed itself and never what it points to",
          "[spool_dir]") {
    ScratchDir scratch;
    const std::string victim = scratch / "pg_wal";
    make_victim(victim);
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    REQUIRE(lock);
    // A segment without its .ok (a leftover), as a link to a segment in pg_wal.
    fs::create_symlink(victim + "/000000010000000000000006",
                       spool.dir() + "/000000010000000000000009");
    spool.remove_leftovers();
    CHECK_FALSE(fs::exists(fs::symlink_status(spool.dir() + "/000000010000000000000009")));
    check_victim_intact(victim);
}

TEST_CASE("the push spool refuses linked backlog and batch directories", "[spool_dir]") {
    ScratchDir scratch;
    const std::string victim = scratch / "archive";
    make_victim(victim);
    const std::string root = scratch / "spool";
    Spool spool(root);
    REQUIRE(spool.backlog("pg2", true));
    fs::create_directory_symlink(victim, root + "/backlog/" + destination_key("pg3"));
    test_errors::error_message(ErrorCode::kInvalidState, [&] { spool.backlog("pg3", false); });
    test_errors::error_message(ErrorCode::kInvalidState, [&] { spool.backlog("pg3", true); });
    CHECK(spool.backlog_keys() == std::vector<std::string>{destination_key("pg2")});
    fs::create_directory_symlink(victim, root + "/batch");
    CHECK_FALSE(spool.markers(false));  // a lookup: no marker, the file is pushed itself
    test_errors::error_message(ErrorCode::kInvalidState, [&] { spool.markers(true); });
    check_victim_intact(victim);
}

TEST_CASE("the push spool's unreachable notes never go through a linked directory", "[spool_dir]") {
    ScratchDir scratch;
    const std::string victim = scratch / "elsewhere";
    fs::create_directories(victim);
    std::ofstream(victim + "/" + destination_key("pg2")) << "precious";
    const std::string root = scratch / "spool";
    Spool spool(root);
    REQUIRE(open_spool_dir(root, "", true));
    fs::create_directory_symlink(victim, root + "/unreachable");
    note_reachable(spool, "pg2");  // would unlink elsewhere/pg2 through the link
    note_unreachable(spool, "pg3");
    CHECK(unreachable_ages(spool, {"pg2", "pg3"}) ==
          std::vector<std::optional<std::int64_t>>{std::nullopt, std::nullopt});
    CHECK(names_in(victim) == std::vector<std::string>{destination_key("pg2")});
    // In a directory of its own they work as before.
    fs::remove(root + "/unreachable");
    note_unreachable(spool, "pg3");
    CHECK(unreachable_ages(spool, {"pg3"})[0].has_value());
    note_reachable(spool, "pg3");
    CHECK_FALSE(unreachable_ages(spool, {"pg3"})[0].has_value());
}
