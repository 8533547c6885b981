// The cleanup decision table: synthetic archives of timelines 1 -> 2 -> 3 with a sibling 4
// branched from 2, a .partial at each switch, .backup and .history files, at 16 MiB and 1 MiB.
// Every row names one archived file and what CleanupRules must say of it.
#include "wal/cleanup_rules.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "expect_error.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

namespace {

constexpr std::uint64_t k16MiB = 16 << 20;
constexpr std::uint64_t k1MiB = 1 << 20;
constexpr bool R = true;   // removed
constexpr bool K = false;  // kept

struct Row {
    const char* file;
    bool remove;
    const char* category;
    const char* reason;  // substring of the reason
};

// Category strings, as the summary line prints them.
constexpr const char* kOnPath = "before cutoff on path";
constexpr const char* kAtOrAfter = "at or after cutoff on path";
constexpr const char* kDivBefore = "diverged, before cutoff";
constexpr const char* kDivAbove = "diverged, above cutoff";
constexpr const char* kDivPruned = "diverged, pruned";
constexpr const char* kAbBefore = "abandoned timeline, before cutoff";
constexpr const char* kAbAbove = "abandoned timeline, above cutoff";
constexpr const char* kAbPruned = "abandoned timeline, pruned";
constexpr const char* kNewer = "newer timeline";
constexpr const char* kNewerAncestry = "ancestry of a newer timeline";
constexpr const char* kNoHistory = "timeline history missing";
constexpr const char* kHistory = "timeline history";
constexpr const char* kBackup = "backup history";
constexpr const char* kBackupGone = "backup history before cutoff";
constexpr const char* kBadSize = "not a segment at this segment size";

// 16 MiB: 1 -> 2 at 0/5000060 (inside segment 5), 2 -> 3 at 0/90000A0 (inside segment 9),
// 2 -> 4 at 0/B000000 (exactly at the start of segment B: that segment of 2 is diverged for 4).
const std::string kH2_16 = "1\t0/5000060\tno recovery target specified\n";
const std::string kH3_16 = kH2_16 + "2\t0/90000A0\tno recovery target specified\n";
const std::string kH4_16 =
    "# promoted standby b\n" + kH2_16 + "\n2\t0/B000000\tbefore 2024-05-01 10:00:00+00\n";

// 1 MiB (4096 segments per log id): 1 -> 2 at 0/FFD00060, 2 -> 3 at 1/00100000 (a segment
// boundary right after the log id changes, written zero-padded as newer servers do),
// 2 -> 4 at 1/300A00.
const std::string kH2_1 = "1\t0/FFD00060\tno recovery target specified\n";
const std::string kH3_1 = kH2_1 + "2\t1/00100000\tno recovery target specified\n";
const std::string kH4_1 = kH2_1 + "2\t1/300A00\tno recovery target specified\n";

std::map<std::uint32_t, TimelineHistory> histories(
    const std::map<std::uint32_t, std::string>& texts) {
    std::map<std::uint32_t, TimelineHistory> out;
    for (const auto& [tli, text] : texts) out.emplace(tli, TimelineHistory::parse(tli, text));
    return out;
}

std::map<std::uint32_t, TimelineHistory> all16() {
    return histories({{2, kH2_16}, {3, kH3_16}, {4, kH4_16}});
}

std::map<std::uint32_t, TimelineHistory> all1() {
    return histories({{2, kH2_1}, {3, kH3_1}, {4, kH4_1}});
}

CleanupCutoff cutoff(const char* name, const char* consumer = "") {
    return CleanupCutoff{consumer, parse_cutoff_name(name)};
}

CleanupRules rules(const std::map<std::uint32_t, TimelineHistory>& h,
                   std::vector<CleanupCutoff> cuts, std::uint64_t seg_size,
                   CleanupOptions options = {}) {
    std::set<std::uint32_t> timelines;
    for (const auto& [tli, history] : h) timelines.insert(tli);
    return CleanupRules(h, timelines, std::move(cuts), seg_size, options);
}

void check_table(const CleanupRules& rules, const std::vector<Row>& rows) {
    for (const Row& row : rows) {
        INFO("file " << row.file);
        CleanupDecision d = rules.decide(parse_wal_name(row.file));
        INFO("decision: " << (d.remove ? "remove" : "keep") << " [" << d.category << "] "
                          << d.reason);
        CHECK(d.remove == row.remove);
        CHECK(d.category == row.category);
        CHECK_THAT(d.reason, Contains(row.reason));
    }
}

// The 16 MiB archive seen from a cutoff on timeline 3, segment C; rows that -b or
// --prune-diverged change come last so the variants below can replace them.
std::vector<Row> table16_cutoff3() {
    return {
        {"000000010000000000000003", R, kOnPath, kOnPath},
        {"000000010000000000000004", R, kOnPath, kOnPath},
        {"000000010000000000000005", R, kOnPath, kOnPath},  // holds the switch point
        {"000000010000000000000005.partial", R, kOnPath, kOnPath},
        {"000000010000000000000006", R, kDivBefore, "diverged after 0/5000060, before cutoff"},
        {"000000010000000000000100", K, kBadSize, "no such segment with wal_segment_size 16777216"},
        {"000000010000000000000FFF", K, kBadSize, "wal_segment_size 16777216"},
        {"000000020000000000000005", R, kOnPath, kOnPath},
        {"000000020000000000000008", R, kOnPath, kOnPath},
        {"000000020000000000000009", R, kOnPath, kOnPath},
        {"000000020000000000000009.partial", R, kOnPath, kOnPath},
        {"00000002000000000000000A", R, kDivBefore, "diverged after 0/90000A0, before cutoff"},
        {"00000002000000000000000A.partial", R, kDivBefore, "diverged after 0/90000A0"},
        {"00000002000000000000000B", R, kDivBefore, "diverged after 0/90000A0"},
        {"000000030000000000000009", R, kOnPath, kOnPath},
        {"00000003000000000000000B", R, kOnPath, kOnPath},
        {"00000003000000000000000B.zst", R, kOnPath, kOnPath},
        {"00000003000000000000000C", K, kAtOrAfter, kAtOrAfter},
        {"00000003000000000000000C.partial", K, kAtOrAfter, kAtOrAfter},
        {"00000003000000000000000E", K, kAtOrAfter, kAtOrAfter},
        {"00000004000000000000000B", K, kNewer, "timeline 4 is newer than cutoff timeline 3"},
        {"00000004000000000000000D.zst", K, kNewer, "timeline 4 is newer than cutoff timeline 3"},
        {"00000002.history", K, kHistory, kHistory},
        {"00000003.history", K, kHistory, kHistory},
        {"00000004.history.zst", K, kHistory, kHistory},
        {"00000005.history", K, kHistory, kHistory},
        // changed by --prune-diverged
        {"000000010000000000000010", K, kDivAbove, "diverged after 0/5000060, above cutoff"},
        {"00000002000000000000000F", K, kDivAbove, "diverged after 0/90000A0, above cutoff"},
        // changed by -b
        {"000000010000000000000004.00000028.backup", K, kBackup,
         "-b removes those before the cutoff"},
        {"00000003000000000000000B.000000D8.backup.zst", K, kBackup, "-b removes"},
        {"00000003000000000000000C.00000060.backup", K, kBackup, "-b removes"},
    };
}

// Replaces the rows of `table` whose file is in `changes`.
std::vector<Row> with(std::vector<Row> table, const std::vector<Row>& changes) {
    for (const Row& change : changes) {
        bool found = false;
        for (Row& row : table) {
            if (std::string(row.file) != change.file) continue;
            row = change;
            found = true;
        }
        REQUIRE(found);
    }
    return table;
}

}  // namespace

TEST_CASE("cleanup rules: 16 MiB, cutoff on timeline 3: every file of the archive",
          "[cleanup_rules]") {
    check_table(rules(all16(), {cutoff("00000003000000000000000C")}, k16MiB), table16_cutoff3());
}

TEST_CASE("cleanup rules: 16 MiB, cutoff given as .partial, .backup or .zst decides alike",
          "[cleanup_rules]") {
    for (const char* name :
         {"00000003000000000000000C.partial", "00000003000000000000000C.00000028.backup",
          "00000003000000000000000C.zst", "00000003000000000000000C.partial.zst"}) {
        INFO("cutoff " << name);
        check_table(rules(all16(), {cutoff(name)}, k16MiB), table16_cutoff3());
    }
}

TEST_CASE("cleanup rules: 16 MiB, cutoff on timeline 3 with --prune-diverged", "[cleanup_rules]") {
    check_table(
        rules(all16(), {cutoff("00000003000000000000000C")}, k16MiB, {.prune_diverged = true}),
        with(table16_cutoff3(),
             {{"000000010000000000000010", R, kDivPruned,
               "diverged after 0/5000060, pruned (--prune-diverged)"},
              {"00000002000000000000000F", R, kDivPruned, "diverged after 0/90000A0, pruned"}}));
}

TEST_CASE("cleanup rules: 16 MiB, cutoff on timeline 3 with -b", "[cleanup_rules]") {
    check_table(
        rules(all16(), {cutoff("00000003000000000000000C")}, k16MiB,
              {.clean_backup_history = true}),
        with(table16_cutoff3(),
             {{"000000010000000000000004.00000028.backup", R, kBackupGone, kBackupGone},
              {"00000003000000000000000B.000000D8.backup.zst", R, kBackupGone, kBackupGone},
              // The cutoff's own segment: not before it, as pg_archivecleanup -b compares.
              {"00000003000000000000000C.00000060.backup", K, kBackup, "at or after cutoff"}}));
}

TEST_CASE("cleanup rules: 16 MiB, cutoff on sibling timeline 4", "[cleanup_rules]") {
    const std::vector<Row> table = {
        {"000000010000000000000005.partial", R, kOnPath, kOnPath},
        {"000000010000000000000006", R, kDivBefore, "diverged after 0/5000060, before cutoff"},
        {"000000020000000000000009.partial", R, kOnPath, kOnPath},  // 4 branched later
        {"00000002000000000000000A", R, kOnPath, kOnPath},
        {"00000002000000000000000A.partial", R, kOnPath, kOnPath},
        // starts exactly at 4's switch point 0/B000000: recovery reads 4's segment B instead
        {"00000002000000000000000B", R, kDivBefore, "diverged after 0/B000000, before cutoff"},
        {"000000030000000000000009", R, kAbBefore,
         "timeline 3 is not on the path to timeline 4, before cutoff"},
        {"00000003000000000000000B.zst", R, kAbBefore,
         "timeline 3 is not on the path to timeline 4"},
        {"00000004000000000000000B", R, kOnPath, kOnPath},
        {"00000004000000000000000C", K, kAtOrAfter, kAtOrAfter},
        {"00000004000000000000000D", K, kAtOrAfter, kAtOrAfter},
        {"00000003.history", K, kHistory, kHistory},
    };
    const std::vector<Row> above = {
        {"000000010000000000000010", K, kDivAbove, "diverged after 0/5000060, above cutoff"},
        {"00000002000000000000000F", K, kDivAbove, "diverged after 0/B000000, above cutoff"},
        {"00000003000000000000000C", K, kAbAbove, "not on the path to timeline 4, above cutoff"},
        {"00000003000000000000000E", K, kAbAbove, "above cutoff"},
    };
    const std::vector<Row> pruned = {
        {"000000010000000000000010", R, kDivPruned, "diverged after 0/5000060, pruned"},
        {"00000002000000000000000F", R, kDivPruned, "diverged after 0/B000000, pruned"},
        {"00000003000000000000000C", R, kAbPruned,
         "not on the path to timeline 4, pruned (--prune-diverged)"},
        {"00000003000000000000000E", R, kAbPruned, "pruned"},
    };
    check_table(rules(all16(), {cutoff("00000004000000000000000C")}, k16MiB), table);
    check_table(rules(all16(), {cutoff("00000004000000000000000C")}, k16MiB), above);
    auto prune =
        rules(all16(), {cutoff("00000004000000000000000C")}, k16MiB, {.prune_diverged = true});
    check_table(prune, table);
    check_table(prune, pruned);
}

TEST_CASE("cleanup rules: 16 MiB, cutoff on timeline 1 or 2: every later timeline is newer",
          "[cleanup_rules]") {
    check_table(
        rules(all16(), {cutoff("000000010000000000000007")}, k16MiB, {.prune_diverged = true}),
        {
            {"000000010000000000000005.partial", R, kOnPath, kOnPath},
            {"000000010000000000000006", R, kOnPath, kOnPath},  // timeline 1 is open-ended
            {"000000010000000000000010", K, kAtOrAfter, kAtOrAfter},
            {"000000020000000000000005", K, kNewer, "timeline 2 is newer than cutoff timeline 1"},
            {"000000030000000000000009", K, kNewer, "timeline 3 is newer"},
            {"00000004000000000000000B", K, kNewer, "timeline 4 is newer"},
        });
    check_table(
        rules(all16(), {cutoff("00000002000000000000000C")}, k16MiB),
        {
            {"000000010000000000000006", R, kDivBefore, "diverged after 0/5000060"},
            {"00000002000000000000000B", R, kOnPath, kOnPath},
            {"00000002000000000000000C", K, kAtOrAfter, kAtOrAfter},
            {"000000030000000000000009", K, kNewer, "timeline 3 is newer than cutoff timeline 2"},
            {"00000004000000000000000B", K, kNewer, "timeline 4 is newer than cutoff timeline 2"},
        });
}

// Issue 10's case: timeline 4 branched from 1 (at 0/A000028) after the cutoff's timeline 2 did
// (at 0/5000060). Timeline 4 is newer and kept, and so is what it reads of timeline 1.
TEST_CASE("cleanup rules: --prune-diverged keeps what a newer sibling timeline reads",
          "[cleanup_rules]") {
    const std::string h2 = "1\t0/5000060\tno recovery target specified\n";
    const std::string h3 = h2 + "2\t0/9000000\tno recovery target specified\n";
    const std::string h4 = "1\t0/A000028\tno recovery target specified\n";
    const std::vector<Row> common = {
        {"000000010000000000000003", R, kOnPath, kOnPath},
        {"000000010000000000000005", R, kOnPath, kOnPath},
        // Before the cutoff: as on the cutoff's own path, the cutoff decides.
        {"000000010000000000000006", R, kDivBefore, "diverged after 0/5000060, before cutoff"},
        {"000000020000000000000006", R, kOnPath, kOnPath},
        {"000000020000000000000007", K, kAtOrAfter, kAtOrAfter},
        {"00000004000000000000000A", K, kNewer, "timeline 4 is newer than cutoff timeline 2"},
        {"000000040000000000000002", K, kNewer, "timeline 4 is newer than cutoff timeline 2"},
    };
    const auto h = histories({{2, h2}, {3, h3}, {4, h4}});
    const CleanupCutoff cut = cutoff("000000020000000000000007");
    check_table(rules(h, {cut}, k16MiB), common);
    check_table(rules(h, {cut}, k16MiB),
                {{"000000010000000000000007", K, kDivAbove, "diverged after 0/5000060, above"},
                 {"00000001000000000000000A", K, kDivAbove, "above cutoff"},
                 {"00000001000000000000000B", K, kDivAbove, "above cutoff"}});
    auto prune = rules(h, {cut}, k16MiB, {.prune_diverged = true});
    check_table(prune, common);
    check_table(prune,
                {{"000000010000000000000007", K, kNewerAncestry,
                  "diverged after 0/5000060, above cutoff, on the path to newer timeline 4"},
                 // holds 4's switch point: recovery along 4 reads it
                 {"00000001000000000000000A", K, kNewerAncestry, "on the path to newer timeline 4"},
                 // after 4's switch point too: no kept timeline reads it
                 {"00000001000000000000000B", R, kDivPruned, "diverged after 0/5000060, pruned"},
                 {"000000010000000000000010", R, kDivPruned, "pruned (--prune-diverged)"}});
}

// A newer timeline with files but no .history: what it reads cannot be known, so nothing off
// the cutoff's path above the cutoff is pruned; below the cutoff and on the path, as before.
TEST_CASE(
    "cleanup rules: --prune-diverged prunes nothing above the cutoff a newer timeline may read",
    "[cleanup_rules]") {
    const auto h = histories({{2, "1\t0/5000060\tno recovery target specified\n"}});
    CleanupRules prune(h, {1, 2, 4}, {cutoff("000000020000000000000007")}, k16MiB,
                       {.prune_diverged = true});
    check_table(prune,
                {{"000000010000000000000005", R, kOnPath, kOnPath},
                 {"000000010000000000000006", R, kDivBefore, "before cutoff"},
                 {"000000010000000000000007", K, kNoHistory,
                  "00000004.history is not in the archive: cannot know what newer timeline 4 "
                  "reads of timeline 1 (kept, also with --prune-diverged)"},
                 {"000000010000000000000040", K, kNoHistory, "newer timeline 4"},
                 {"000000020000000000000007", K, kAtOrAfter, kAtOrAfter},
                 {"000000040000000000000007", K, kNewer, "newer than cutoff timeline 2"}});
    // Once it is there, its path decides.
    CleanupRules known(histories({{2, "1\t0/5000060\tx\n"}, {4, "1\t0/8000000\tx\n"}}), {1, 2, 4},
                       {cutoff("000000020000000000000007")}, k16MiB, {.prune_diverged = true});
    check_table(known, {{"000000010000000000000007", K, kNewerAncestry, "newer timeline 4"},
                        {"000000010000000000000008", R, kDivPruned, "pruned"}});
}

// The same seen from timeline 3, which branched from 1 before 2 did: 2 is abandoned, yet newer
// timeline 4 reads it up to its switch point.
TEST_CASE("cleanup rules: --prune-diverged keeps an abandoned timeline a newer one reads",
          "[cleanup_rules]") {
    const std::string h2 = "1\t0/5000060\tno recovery target specified\n";
    const std::string h3 = "1\t0/3000000\tno recovery target specified\n";
    const std::string h4 = h2 + "2\t0/9000000\tno recovery target specified\n";
    auto prune = rules(histories({{2, h2}, {3, h3}, {4, h4}}), {cutoff("000000030000000000000004")},
                       k16MiB, {.prune_diverged = true});
    check_table(
        prune,
        {{"000000010000000000000002", R, kOnPath, kOnPath},
         {"000000010000000000000003", R, kDivBefore, "diverged after 0/3000000, before cutoff"},
         {"000000010000000000000005", K, kNewerAncestry,
          "diverged after 0/3000000, above cutoff, on the path to newer timeline 4"},
         {"000000010000000000000006", R, kDivPruned, "pruned (--prune-diverged)"},
         {"000000020000000000000005", K, kNewerAncestry,
          "timeline 2 is not on the path to timeline 3, above cutoff, on the path to newer "
          "timeline 4"},
         {"000000020000000000000008", K, kNewerAncestry, "on the path to newer timeline 4"},
         // starts at 4's switch point 0/9000000: recovery along 4 reads 4's segment 9
         {"000000020000000000000009", R, kAbPruned, "pruned (--prune-diverged)"},
         {"00000002000000000000000A", R, kAbPruned, "pruned (--prune-diverged)"}});
}

TEST_CASE("cleanup rules: missing history of the cutoff timeline keeps the other timelines",
          "[cleanup_rules]") {
    const std::vector<Row> table = {
        {"000000030000000000000009", R, kOnPath, kOnPath},  // its own timeline needs no history
        {"00000003000000000000000B.zst", R, kOnPath, kOnPath},
        {"00000003000000000000000C", K, kAtOrAfter, kAtOrAfter},
        {"000000010000000000000003", K, kNoHistory,
         "00000003.history is not in the archive: cannot place timeline 1"},
        {"000000010000000000000005.partial", K, kNoHistory, "cannot place timeline 1"},
        {"000000020000000000000005", K, kNoHistory, "cannot place timeline 2"},
        {"00000002000000000000000F", K, kNoHistory, "cannot place timeline 2"},
        {"00000004000000000000000B", K, kNewer, "timeline 4 is newer than cutoff timeline 3"},
        {"00000002.history", K, kHistory, kHistory},
    };
    auto without3 = histories({{2, kH2_16}, {4, kH4_16}});
    check_table(rules(without3, {cutoff("00000003000000000000000C")}, k16MiB), table);
    check_table(
        rules(without3, {cutoff("00000003000000000000000C")}, k16MiB, {.prune_diverged = true}),
        table);
    check_table(rules({}, {cutoff("00000003000000000000000C")}, k16MiB), table);
}

TEST_CASE("cleanup rules: several consumers: removed only if every cutoff removes it",
          "[cleanup_rules]") {
    const std::vector<Row> a_then_b = {
        {"000000010000000000000003", R, kOnPath, "(for every consumer)"},
        {"000000010000000000000006", R, kDivBefore, "(for every consumer)"},
        {"00000002000000000000000B", R, kDivBefore, "(for every consumer)"},
        // on a's path, abandoned before b's cutoff: the first remover's words are kept
        {"00000003000000000000000B", R, kOnPath, "before cutoff on path (for every consumer)"},
        {"000000010000000000000010", K, kDivAbove, "above cutoff (consumer standby-a)"},
        {"00000003000000000000000C", K, kAtOrAfter, "(consumer standby-a)"},
        {"00000004000000000000000B", K, kNewer,
         "newer than cutoff timeline 3 (consumer standby-a)"},
        {"00000003.history", K, kHistory, kHistory},
    };
    check_table(rules(all16(),
                      {cutoff("00000003000000000000000C", "standby-a"),
                       cutoff("00000004000000000000000C", "standby-b")},
                      k16MiB),
                a_then_b);
    // The order of the consumers changes which keeping consumer is named, never the decision.
    check_table(rules(all16(),
                      {cutoff("00000004000000000000000C", "standby-b"),
                       cutoff("00000003000000000000000C", "standby-a")},
                      k16MiB),
                {
                    {"00000003000000000000000B", R, kAbBefore, "(for every consumer)"},
                    {"00000003000000000000000C", K, kAbAbove, "(consumer standby-b)"},
                    {"00000004000000000000000B", K, kNewer, "(consumer standby-a)"},
                    {"00000004000000000000000C", K, kAtOrAfter, "(consumer standby-b)"},
                });
    // Same timeline, different positions: the slower one holds back.
    check_table(rules(all16(),
                      {cutoff("00000003000000000000000E", "fast"),
                       cutoff("00000003000000000000000A", "slow")},
                      k16MiB),
                {
                    {"000000030000000000000009", R, kOnPath, "(for every consumer)"},
                    {"00000003000000000000000A", K, kAtOrAfter, "(consumer slow)"},
                    {"00000003000000000000000D", K, kAtOrAfter, "(consumer slow)"},
                    {"00000003000000000000000E", K, kAtOrAfter, "(consumer fast)"},
                });
    // One consumer whose history is missing holds back the others' removals of other timelines.
    check_table(
        rules(histories({{4, kH4_16}}),
              {cutoff("00000004000000000000000C", "b"), cutoff("00000003000000000000000C", "a")},
              k16MiB),
        {
            {"000000010000000000000003", K, kNoHistory, "cannot place timeline 1 (consumer a)"},
            {"00000004000000000000000B", K, kNewer, "(consumer a)"},
            {"000000030000000000000009", R, kAbBefore, "(for every consumer)"},
        });
}

TEST_CASE("cleanup rules: 1 MiB, cutoff on timeline 3 across a log id boundary",
          "[cleanup_rules]") {
    const std::vector<Row> table = {
        {"000000010000000000000FFC", R, kOnPath, kOnPath},
        {"000000010000000000000FFD", R, kOnPath, kOnPath},
        {"000000010000000000000FFD.partial", R, kOnPath, kOnPath},
        {"000000010000000000000FFE", R, kDivBefore, "diverged after 0/FFD00060, before cutoff"},
        {"000000010000000000001000", K, kBadSize, "no such segment with wal_segment_size 1048576"},
        {"000000020000000000000FFD", R, kOnPath, kOnPath},
        {"000000020000000000000FFF", R, kOnPath, kOnPath},
        {"000000020000000100000000", R, kOnPath, kOnPath},
        {"000000020000000100000000.partial", R, kOnPath, kOnPath},
        {"000000020000000100000001", R, kDivBefore, "diverged after 1/100000, before cutoff"},
        {"000000020000000100000003.partial", R, kDivBefore, "diverged after 1/100000"},
        {"000000030000000100000001", R, kOnPath, kOnPath},
        {"000000030000000100000003.zst", R, kOnPath, kOnPath},
        {"000000030000000100000004", K, kAtOrAfter, kAtOrAfter},
        {"000000030000000100000006", K, kAtOrAfter, kAtOrAfter},
        {"000000040000000100000003", K, kNewer, "timeline 4 is newer than cutoff timeline 3"},
        {"000000010000000000000FFD.00000028.backup", K, kBackup, "-b removes"},
        {"00000004.history", K, kHistory, kHistory},
    };
    const std::vector<Row> above = {
        {"000000010000000100000005", K, kDivAbove, "diverged after 0/FFD00060, above cutoff"},
        {"000000020000000100000004", K, kDivAbove, "diverged after 1/100000, above cutoff"},
    };
    check_table(rules(all1(), {cutoff("000000030000000100000004")}, k1MiB), table);
    check_table(rules(all1(), {cutoff("000000030000000100000004")}, k1MiB), above);
    auto prune = rules(all1(), {cutoff("000000030000000100000004.partial")}, k1MiB,
                       {.prune_diverged = true, .clean_backup_history = true});
    check_table(
        prune,
        with(table, {{"000000010000000000000FFD.00000028.backup", R, kBackupGone, kBackupGone}}));
    check_table(prune,
                {{"000000010000000100000005", R, kDivPruned, "pruned (--prune-diverged)"},
                 {"000000020000000100000004", R, kDivPruned, "diverged after 1/100000, pruned"}});
}

TEST_CASE("cleanup rules: 1 MiB, cutoff on sibling timeline 4", "[cleanup_rules]") {
    check_table(
        rules(all1(), {cutoff("000000040000000100000004")}, k1MiB),
        {
            {"000000010000000000000FFD.partial", R, kOnPath, kOnPath},
            {"000000010000000000000FFE", R, kDivBefore, "diverged after 0/FFD00060"},
            {"000000020000000100000001", R, kOnPath, kOnPath},
            {"000000020000000100000003", R, kOnPath, kOnPath},  // holds 4's switch point
            {"000000020000000100000003.partial", R, kOnPath, kOnPath},
            {"000000020000000100000004", K, kDivAbove, "diverged after 1/300A00, above cutoff"},
            {"000000030000000100000001", R, kAbBefore, "not on the path to timeline 4"},
            {"000000030000000100000004", K, kAbAbove, "not on the path to timeline 4"},
            {"000000040000000100000003", R, kOnPath, kOnPath},
            {"000000040000000100000004", K, kAtOrAfter, kAtOrAfter},
            {"000000040000000100000005", K, kAtOrAfter, kAtOrAfter},
            // Valid at 1 MiB, no such segment at 16 MiB: the size is what decides.
            {"000000010000000000000FFC", R, kOnPath, kOnPath},
        });
    check_table(rules(all16(), {cutoff("00000004000000000000000C")}, k16MiB),
                {{"000000010000000000000FFC", K, kBadSize, "wal_segment_size 16777216"}});
}

TEST_CASE("cleanup rules: the rules refuse what they cannot work with", "[cleanup_rules]") {
    error_message(ErrorCode::kInternal, [] { rules(all16(), {}, k16MiB); });
    error_message(ErrorCode::kInvalidWalHeader,
                  [] { rules(all16(), {cutoff("00000003000000000000000C")}, 3 << 20); });
}

TEST_CASE("cleanup rules: parse_cutoff_name takes what pg_archivecleanup takes, and .zst",
          "[cleanup_rules]") {
    WalName expected;
    expected.kind = WalKind::kSegment;
    expected.tli = 3;
    expected.log = 0x1A;
    expected.seg = 0xC;
    for (const char* name :
         {"000000030000001A0000000C", "000000030000001A0000000C.partial",
          "000000030000001A0000000C.00000028.backup", "000000030000001A0000000C.zst",
          "000000030000001A0000000C.partial.zst", "000000030000001A0000000C.00FFFFF8.backup.zst"}) {
        INFO("cutoff " << name);
        CHECK(parse_cutoff_name(name) == expected);
    }
    CHECK_THAT(
        error_message(ErrorCode::kInvalidName, [] { parse_cutoff_name("00000003.history"); }),
        Contains("expected a WAL segment, .partial or .backup file name"));
    error_message(ErrorCode::kInvalidName, [] { parse_cutoff_name("00000003.history.zst"); });
    for (const char* bad : {"", "foo", "000000030000001A0000000c", "000000030000001A0000000",
                            "000000000000001A0000000C", "000000030000001A0000000C.gz",
                            "000000030000001A0000000C.partialX",
                            "000000030000001A0000000C.28.backup", "../000000030000001A0000000C",
                            "000000030000001A0000000C\n", "000000030000001A0000000C.zst.zst"}) {
        INFO("cutoff \"" << bad << "\"");
        std::string msg = error_message(ErrorCode::kInvalidName, [&] { parse_cutoff_name(bad); });
        CHECK(test_errors::printable(msg));
    }
}
