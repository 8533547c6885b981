#include "wal/timeline_history.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "base/error.h"
#include "expect_error.h"

using namespace walferry;
using Catch::CaseSensitive;
using Catch::Contains;
using test_errors::error_message;

namespace {

constexpr std::uint64_t k16MiB = 16 << 20;

Lsn lsn(const char* text) {
    return parse_lsn(text);
}

TimelineRange range(std::uint32_t tli, const char* begin, std::optional<const char*> end) {
    TimelineRange r;
    r.tli = tli;
    r.begin = lsn(begin);
    if (end) r.end = lsn(*end);
    return r;
}

// What a server that went 1 -> 2 -> 3 writes into 00000003.history.
const char* const kThree =
    "1\t0/3000158\tno recovery target specified\n"
    "\n"
    "2\t0/5000000\tbefore 2024-05-01 10:00:00+00\n";

// parse() must refuse `content` with kInvalidHistory and name line `line`.
void check_bad_history(std::uint32_t target, const std::string& content, int line) {
    INFO("content: " << content);
    std::string msg =
        error_message(ErrorCode::kInvalidHistory, [&] { TimelineHistory::parse(target, content); });
    CHECK_THAT(msg, Contains("line " + std::to_string(line), CaseSensitive::No));
    CHECK(test_errors::printable(msg));
}

}  // namespace

TEST_CASE("timeline 1 has no history: one open range from 0/0", "[timeline_history]") {
    TimelineHistory h;
    CHECK(h.target() == 1);
    REQUIRE(h.path().size() == 1);
    CHECK(h.path()[0] == range(1, "0/0", std::nullopt));
    CHECK(h.on_path(1));
    CHECK_FALSE(h.on_path(2));
    CHECK_FALSE(h.on_path(0));
    CHECK(h.range_of(1) == range(1, "0/0", std::nullopt));
    CHECK_FALSE(h.range_of(2).has_value());
    CHECK(h.timeline_of(lsn("0/0")) == 1);
    CHECK(h.timeline_of(lsn("FFFFFFFF/FFFFFFFF")) == 1);
    CHECK(h.place_segment(1, 0, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(1, 0xFFFFFFFFFFull, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(2, 3, k16MiB) == SegmentPlacement::kUnrelated);
}

TEST_CASE("a real-looking history gives the path with half-open ranges", "[timeline_history]") {
    TimelineHistory two = TimelineHistory::parse(2, "1\t0/3000158\tno recovery target specified\n");
    CHECK(two.target() == 2);
    REQUIRE(two.path().size() == 2);
    CHECK(two.path()[0] == range(1, "0/0", "0/3000158"));
    CHECK(two.path()[1] == range(2, "0/3000158", std::nullopt));

    TimelineHistory three = TimelineHistory::parse(3, kThree);
    CHECK(three.target() == 3);
    const std::vector<TimelineRange> expected = {
        range(1, "0/0", "0/3000158"),
        range(2, "0/3000158", "0/5000000"),
        range(3, "0/5000000", std::nullopt),
    };
    CHECK(three.path() == expected);
    for (const TimelineRange& r : expected) {
        CHECK(three.on_path(r.tli));
        CHECK(three.range_of(r.tli) == r);
    }
    CHECK_FALSE(three.on_path(4));
    CHECK_FALSE(three.range_of(4).has_value());
}

TEST_CASE("comments, blank lines, optional reasons and both switchpoint formats",
          "[timeline_history]") {
    const std::string content =
        "# written by hand\n"
        "\n"
        "1\t0/0A000060\tno recovery target specified\n"
        "   \n"
        "# another comment\n"
        "2 0/B000000\n"
        "4\t1/00000028\treason with several words\t and tabs\n"
        "\n";
    TimelineHistory h = TimelineHistory::parse(5, content);
    const std::vector<TimelineRange> expected = {
        range(1, "0/0", "0/A000060"),
        range(2, "0/A000060", "0/B000000"),
        range(4, "0/B000000", "1/28"),
        range(5, "1/28", std::nullopt),
    };
    CHECK(h.path() == expected);
    CHECK_FALSE(h.on_path(3));  // 4 branched off 2, 3 is an abandoned sibling

    // Unpadded and padded low halves mean the same point; no newline at the end is fine.
    CHECK(TimelineHistory::parse(2, "1\t0/A000060\tx").path() ==
          TimelineHistory::parse(2, "1\t0/0A000060\tx\n").path());
    CHECK(TimelineHistory::parse(2, "1\t0/a000060\n").path()[0].end == lsn("0/A000060"));
}

TEST_CASE("a history with twenty switches", "[timeline_history]") {
    std::string content;
    for (std::uint32_t tli = 1; tli <= 20; ++tli) {
        content += std::to_string(tli) + "\t" + format_lsn(Lsn{tli * 0x1000000ull + 0x28}) +
                   "\tno recovery target specified\n";
    }
    TimelineHistory h = TimelineHistory::parse(21, content);
    REQUIRE(h.path().size() == 21);
    for (std::uint32_t tli = 1; tli <= 21; ++tli) {
        INFO("tli: " << tli);
        const TimelineRange& r = h.path()[tli - 1];
        CHECK(r.tli == tli);
        CHECK(r.begin.value == (tli == 1 ? 0 : (tli - 1) * 0x1000000ull + 0x28));
        if (tli == 21) {
            CHECK_FALSE(r.end.has_value());
        } else {
            CHECK(r.end == Lsn{tli * 0x1000000ull + 0x28});
        }
        CHECK(h.timeline_of(r.begin) == tli);
        CHECK(h.place_segment(tli, tli, k16MiB) == SegmentPlacement::kOnPath);
    }
    CHECK(h.timeline_of(lsn("FFFFFFFF/FFFFFFFF")) == 21);
    CHECK(h.place_segment(5, 6, k16MiB) == SegmentPlacement::kDiverged);
    CHECK(h.place_segment(22, 6, k16MiB) == SegmentPlacement::kUnrelated);
}

TEST_CASE("timeline_of: a switch point belongs to the child timeline", "[timeline_history]") {
    TimelineHistory h = TimelineHistory::parse(3, kThree);
    CHECK(h.timeline_of(lsn("0/0")) == 1);
    CHECK(h.timeline_of(lsn("0/3000157")) == 1);
    CHECK(h.timeline_of(lsn("0/3000158")) == 2);
    CHECK(h.timeline_of(lsn("0/4FFFFFF")) == 2);
    CHECK(h.timeline_of(lsn("0/5000000")) == 3);
    CHECK(h.timeline_of(lsn("16/B374D848")) == 3);
    CHECK(h.timeline_of(lsn("FFFFFFFF/FFFFFFFF")) == 3);
}

TEST_CASE("equal switch points are allowed and leave an empty range", "[timeline_history]") {
    TimelineHistory h = TimelineHistory::parse(3, "1\t0/5000000\n2\t0/5000000\n");
    CHECK(h.path()[1] == range(2, "0/5000000", "0/5000000"));
    CHECK(h.timeline_of(lsn("0/4FFFFFF")) == 1);
    CHECK(h.timeline_of(lsn("0/5000000")) == 3);
    CHECK(h.place_segment(2, 5, k16MiB) == SegmentPlacement::kDiverged);
}

TEST_CASE("place_segment: on the path, diverged, unrelated", "[timeline_history]") {
    TimelineHistory h = TimelineHistory::parse(3, kThree);
    // Timeline 1 holds [0/0, 0/3000158): segments 0..3 overlap it. Segment 3 contains the switch
    // point, so recovery still reads its first part from timeline 1.
    CHECK(h.place_segment(1, 0, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(1, 3, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(1, 4, k16MiB) == SegmentPlacement::kDiverged);
    CHECK(h.place_segment(1, 100, k16MiB) == SegmentPlacement::kDiverged);
    // Timeline 2 holds [0/3000158, 0/5000000): segments 3 and 4. Segment 5 starts at the switch.
    CHECK(h.place_segment(2, 3, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(2, 4, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(2, 5, k16MiB) == SegmentPlacement::kDiverged);
    CHECK(h.place_segment(2, 6, k16MiB) == SegmentPlacement::kDiverged);
    // Timeline 3 is open-ended.
    CHECK(h.place_segment(3, 5, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(3, 0xFFFFFFFFFFull, k16MiB) == SegmentPlacement::kOnPath);
    // Not on the path at all.
    CHECK(h.place_segment(4, 5, k16MiB) == SegmentPlacement::kUnrelated);
    CHECK(h.place_segment(0xFFFFFFFF, 5, k16MiB) == SegmentPlacement::kUnrelated);

    // Sibling: 3 branched off 1, so 2 is not on its path.
    TimelineHistory sibling = TimelineHistory::parse(3, "1\t0/3000158\tx\n");
    CHECK(sibling.place_segment(2, 3, k16MiB) == SegmentPlacement::kUnrelated);
    CHECK(sibling.place_segment(2, 4, k16MiB) == SegmentPlacement::kUnrelated);
    CHECK(sibling.place_segment(1, 3, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(sibling.place_segment(1, 4, k16MiB) == SegmentPlacement::kDiverged);
}

TEST_CASE("place_segment depends on the segment size", "[timeline_history]") {
    TimelineHistory h = TimelineHistory::parse(2, "1\t0/4000000\n");
    // Switch exactly at a 16 MiB boundary: segment 4 starts at it and is diverged on timeline 1.
    CHECK(h.place_segment(1, 3, k16MiB) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(1, 4, k16MiB) == SegmentPlacement::kDiverged);
    CHECK(h.place_segment(2, 4, k16MiB) == SegmentPlacement::kOnPath);
    // 1 MiB: 0/4000000 is segment 64.
    CHECK(h.place_segment(1, 63, 1 << 20) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(1, 64, 1 << 20) == SegmentPlacement::kDiverged);
    CHECK(h.place_segment(2, 64, 1 << 20) == SegmentPlacement::kOnPath);
    // 1 GiB: segment 0 contains the switch point, segment 1 starts after it.
    CHECK(h.place_segment(1, 0, 1 << 30) == SegmentPlacement::kOnPath);
    CHECK(h.place_segment(1, 1, 1 << 30) == SegmentPlacement::kDiverged);
    CHECK(h.place_segment(2, 0, 1 << 30) == SegmentPlacement::kOnPath);
}

TEST_CASE("parents must increase and stay below the target", "[timeline_history]") {
    check_bad_history(3, "3\t0/5000000\tx\n", 1);
    check_bad_history(3, "1\t0/3000000\tx\n4\t0/5000000\tx\n", 2);
    check_bad_history(3, "1\t0/3000000\tx\n1\t0/5000000\tx\n", 2);
    check_bad_history(4, "2\t0/3000000\tx\n# c\n1\t0/5000000\tx\n", 3);
    check_bad_history(2, "5\t0/3000000\tx\n", 1);
}

TEST_CASE("switch points must not decrease", "[timeline_history]") {
    check_bad_history(3, "1\t0/5000000\tx\n2\t0/4000000\tx\n", 2);
    check_bad_history(3, "\n1\t1/0\tx\n\n2\t0/FFFFFFFF\tx\n", 4);
}

TEST_CASE("garbage lines are rejected naming the line number", "[timeline_history]") {
    const std::string good = "1\t0/3000158\tno recovery target specified\n";
    const std::vector<std::string> garbage = {
        "x\t0/3000158\tx",
        "1",
        "1\t",
        "1\t0/XYZ\tx",
        "1\t03000158\tx",
        "1\t0-3000158\tx",
        "1\t/3000158\tx",
        "1\t0/\tx",
        "1\t0/13000158A\tx",
        "-1\t0/3000158\tx",
        "+2\t0/3000158\tx",
        "1x\t0/3000158\tx",
        "0x2\t0/3000158\tx",
        "99999999999\t0/3000158\tx",
        "\t0/3000158\tx",
        "garbage",
    };
    for (const std::string& line : garbage) {
        check_bad_history(3, good + "# comment\n" + line + "\n", 3);
        check_bad_history(3, line + "\n" + good, 1);
    }
    check_bad_history(3, "1\t0/3000158\n2\t0/50" + std::string(1, '\0') + "00000\tx\n", 2);
}

TEST_CASE("check_small_wal_file: the one content rule of push and fetch", "[timeline_history]") {
    const WalName history = parse_wal_name("00000003.history");
    const WalName backup = parse_wal_name("000000010000000000000005.00000028.backup");
    CHECK_NOTHROW(check_small_wal_file(history, std::string_view(kThree).size(), kThree));
    CHECK_NOTHROW(check_small_wal_file(backup, 5, "START"));
    auto refused = [](const WalName& name, std::string_view content) {
        return error_message(ErrorCode::kInvalidHistory,
                             [&] { check_small_wal_file(name, content.size(), content); });
    };
    CHECK_THAT(refused(history, ""), Contains("empty"));
    CHECK_THAT(refused(backup, ""), Contains("empty"));
    CHECK_THAT(refused(history, "# comment\n\n  # another\n"), Contains("no parent timeline"));
    CHECK_THAT(refused(history, "\n"), Contains("no parent timeline"));
    CHECK_THAT(refused(history, "garbage\n"), Contains("line 1"));
    CHECK_THAT(refused(history, "3\t0/5000000\tself\n"), Contains("3"));
    CHECK_THAT(error_message(ErrorCode::kInvalidHistory,
                             [&] { check_small_wal_file(backup, kMaxSmallWalFileSize + 1, ""); }),
               Contains("1048577 bytes"));
}
