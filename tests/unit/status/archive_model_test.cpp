#include "status/archive_model.h"

#include <catch2/catch.hpp>

using namespace walferry;

namespace {

constexpr std::uint64_t kSeg = 16u << 20;

std::string seg(std::uint32_t tli, std::uint64_t segno) {
    return segment_file(tli, segno, kSeg) + ".zst";
}

// Segments [from, to] of `tli`, 1000 bytes each, mtime = segno.
void add_segments(std::vector<ListedFile>& files, std::uint32_t tli, std::uint64_t from,
                  std::uint64_t to) {
    for (std::uint64_t s = from; s <= to; ++s) {
        files.push_back(ListedFile{seg(tli, s), 1000, static_cast<std::int64_t>(s)});
    }
}

// 1 -> 2 at segment 5 (0/5000060), 2 -> 3 at segment 8 (0/8000060).
HistoryMap chain_1_2_3() {
    HistoryMap h;
    h.emplace(2, TimelineHistory::parse(2, "1\t0/5000060\tno recovery target specified\n"));
    h.emplace(3, TimelineHistory::parse(3,
                                        "1\t0/5000060\tno recovery target specified\n"
                                        "2\t0/8000060\tat restore point \"x\"\n"));
    return h;
}

std::vector<ListedFile> chain_files() {
    std::vector<ListedFile> files{{"walferry.info", 80, 0},
                                  {"00000002.history.zst", 90, 0},
                                  {"00000003.history.zst", 90, 0},
                                  {seg(1, 5).substr(0, 24) + ".partial.zst", 500, 0}};
    add_segments(files, 1, 1, 4);
    add_segments(files, 2, 5, 7);
    add_segments(files, 3, 8, 12);
    return files;
}

}  // namespace

TEST_CASE("status: a complete chain 1 to 3 has no gap and no diverged segment", "[status]") {
    const ArchiveContents c = analyze_archive(chain_files(), chain_1_2_3(), kSeg);
    CHECK(c.gaps.empty());
    CHECK(c.missing_histories.empty());
    CHECK(c.files == 15);  // walferry.info is not counted
    REQUIRE(c.timelines.size() == 3);
    const TimelineSummary& one = c.timelines.at(1);
    CHECK(one.segments == 4);
    CHECK(one.first == 1);
    CHECK(one.last == 4);
    CHECK(one.partials == std::vector<std::string>{"000000010000000000000005.partial.zst"});
    CHECK(one.stored_bytes == 4500);
    CHECK(c.timelines.at(3).has_history);
    CHECK(c.timelines.at(3).last == 12);
    CHECK(c.newest_segment_mtime == 12);
}

TEST_CASE("status: a missing middle segment is a gap, an end at a switch point is not",
          "[status]") {
    auto files = chain_files();
    std::erase_if(files, [](const ListedFile& f) { return f.name == seg(2, 6); });
    const ArchiveContents c = analyze_archive(files, chain_1_2_3(), kSeg);
    CHECK(c.gaps == std::vector<Gap>{{2, 6, 6}});
}

TEST_CASE("status: a timeline's start after its parent and its parent's tail are expected",
          "[status]") {
    auto files = chain_files();
    // Timeline 3 lacks its first segment 8; timeline 1 lacks 4, the last before its end.
    std::erase_if(files,
                  [](const ListedFile& f) { return f.name == seg(3, 8) || f.name == seg(1, 4); });
    const ArchiveContents c = analyze_archive(files, chain_1_2_3(), kSeg);
    CHECK(c.gaps == std::vector<Gap>{{1, 4, 4}, {3, 8, 8}});
}

TEST_CASE("status: segments of a parent above the switch point are diverged, not a gap",
          "[status]") {
    auto files = chain_files();
    add_segments(files, 1, 5, 6);  // the old primary went on writing timeline 1
    add_segments(files, 1, 9, 9);  // and a hole among its diverged segments is no gap
    const ArchiveContents c = analyze_archive(files, chain_1_2_3(), kSeg);
    CHECK(c.gaps.empty());
    CHECK(c.timelines.at(1).diverged == 3);
    CHECK(c.timelines.at(2).diverged == 0);
}

TEST_CASE("status: a timeline without its history file is named", "[status]") {
    auto files = chain_files();
    std::erase_if(files, [](const ListedFile& f) { return f.name == "00000003.history.zst"; });
    add_segments(files, 1, 1, 1);
    files.push_back({"notes.txt", 3, 0});
    const ArchiveContents c = analyze_archive(files, chain_1_2_3(), kSeg);
    CHECK(c.missing_histories == std::vector<std::uint32_t>{3});
    CHECK(c.unknown_files == std::vector<std::string>{"notes.txt"});
}

TEST_CASE("status: the tree of a chain keeps parents, switch points and reasons", "[status]") {
    const auto tree = timeline_tree(chain_1_2_3(), {1, 2, 3});
    REQUIRE(tree.size() == 3);
    CHECK(!tree.at(1).parent);
    CHECK(tree.at(1).children == std::vector<std::uint32_t>{2});
    CHECK(tree.at(3).parent == 2u);
    CHECK(tree.at(3).switch_point == parse_lsn("0/8000060"));
    CHECK(tree.at(3).reason == "at restore point \"x\"");
    CHECK(timeline_end(chain_1_2_3(), 1) == parse_lsn("0/5000060"));
    CHECK(!timeline_end(chain_1_2_3(), 3));
}

TEST_CASE("status: an ancestor known only from a newer history gets its parent", "[status]") {
    HistoryMap h;
    h.emplace(3, TimelineHistory::parse(3, "1\t0/5000060\n2\t0/8000060\n"));
    const auto tree = timeline_tree(h, {3});
    CHECK(tree.at(2).parent == 1u);
    CHECK(tree.at(1).children == std::vector<std::uint32_t>{2});
    CHECK(tree.at(2).children == std::vector<std::uint32_t>{3});
}

TEST_CASE("status: files missing on one destination from its own lowest segment on", "[status]") {
    std::vector<ListedFile> a;
    std::vector<ListedFile> b;
    add_segments(a, 1, 1, 6);
    add_segments(b, 1, 3, 5);  // pruned below 3, lacks 6
    a.push_back({"00000002.history.zst", 90, 0});
    const auto missing = missing_elsewhere({a, b}, kSeg);
    CHECK(missing[0].empty());
    CHECK(missing[1] == std::vector<std::string>{"00000002.history.zst", seg(1, 6)});
}
