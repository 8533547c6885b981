// Which destinations a push with required = N leaves alone after they failed, and the notes in
// the spool that remember the failures.
#include "archive_push/unreachable.h"

#include <catch2/catch.hpp>

#include "scratch_dir.h"

using namespace walferry;

namespace {

using Ages = std::vector<std::optional<std::int64_t>>;

}  // namespace

TEST_CASE("a destination that failed recently is skipped while enough others are tried") {
    const auto no = std::nullopt;
    // Two destinations, required = 1: the one that failed 3 s ago is left alone.
    CHECK(destinations_to_skip(Ages{no, 3}, 1) == std::vector<bool>{false, true});
    // Past the retry interval it is tried again.
    CHECK(destinations_to_skip(Ages{no, kRetryUnreachableAfterS}, 1) ==
          std::vector<bool>{false, false});
    CHECK(destinations_to_skip(Ages{no, kRetryUnreachableAfterS - 1}, 1) ==
          std::vector<bool>{false, true});
    // Three destinations, required = 1, one healthy: both recent failures are left alone.
    CHECK(destinations_to_skip(Ages{10, no, 4}, 1) == std::vector<bool>{true, false, true});
    // required = 2 of 2 failed ones never skips.
    CHECK(destinations_to_skip(Ages{1, 1}, 2) == std::vector<bool>{false, false});
    // Nothing failed: nothing skipped.
    CHECK(destinations_to_skip(Ages{no, no, no}, 1) == std::vector<bool>{false, false, false});
}

TEST_CASE("too few healthy destinations for required: every destination is tried") {
    const auto no = std::nullopt;
    // Both failed a moment ago, required = 1: the one that failed first may be the one still
    // down; skipping the other would fail the push though it is up. Both are tried.
    CHECK(destinations_to_skip(Ages{5, 2}, 1) == std::vector<bool>{false, false});
    CHECK(destinations_to_skip(Ages{2, 5}, 1) == std::vector<bool>{false, false});
    // Three destinations, required = 2, one healthy: the healthy one alone cannot make the
    // quorum, so the two that failed are tried as well (in parallel, like every destination).
    CHECK(destinations_to_skip(Ages{10, no, 4}, 2) == std::vector<bool>{false, false, false});
    // Two healthy of three, required = 2: the one that failed is left alone.
    CHECK(destinations_to_skip(Ages{no, 4, no}, 2) == std::vector<bool>{false, true, false});
    // Every one failed: all tried.
    CHECK(destinations_to_skip(Ages{1, 2, 3}, 1) == std::vector<bool>{false, false, false});
}

TEST_CASE("failure notes live in the spool until the destination answers") {
    ScratchDir dir;
    const Spool spool(dir.path());
    const std::vector<std::string> names{"sb1", "sftp://u@h:22/x"};
    CHECK(unreachable_ages(spool, names) == Ages{std::nullopt, std::nullopt});
    note_unreachable(spool, names[1]);
    Ages ages = unreachable_ages(spool, names);
    REQUIRE(ages[1].has_value());
    CHECK(*ages[1] <= 1);
    CHECK_FALSE(ages[0].has_value());
    note_reachable(spool, names[1]);
    CHECK(unreachable_ages(spool, names) == Ages{std::nullopt, std::nullopt});
}
