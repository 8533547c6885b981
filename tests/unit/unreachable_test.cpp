// Which destinations a push with required = N leaves alone after they failed, and the notes in
// the spool that remember the failures.
#include "unreachable.h"

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
    // Both failed: never skip them all; the most recent failure is skipped first, one is tried.
    CHECK(destinations_to_skip(Ages{5, 2}, 1) == std::vector<bool>{false, true});
    // Three destinations, required = 2: only one may be skipped, the most recent failure.
    CHECK(destinations_to_skip(Ages{10, no, 4}, 2) == std::vector<bool>{false, false, true});
    // required = 2 of 2 failed ones never skips.
    CHECK(destinations_to_skip(Ages{1, 1}, 2) == std::vector<bool>{false, false});
    // Nothing failed: nothing skipped.
    CHECK(destinations_to_skip(Ages{no, no, no}, 1) == std::vector<bool>{false, false, false});
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
