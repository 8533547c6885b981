#include "status/status_report.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <sstream>

#include "archive/archive_info.h"
#include "command_run.h"
#include "memory_store_opener.h"
#include "prepared_history.h"
#include "status/render.h"
#include "status/server_check.h"
#include "status/status.h"
#include "status/verify.h"

using namespace walferry;
using walferry::testing::MemoryDestinations;

namespace {

constexpr std::uint64_t kSeg = 16u << 20;

std::string seg(std::uint32_t tli, std::uint64_t segno) {
    return segment_file(tli, segno, kSeg) + ".zst";
}

std::vector<std::uint8_t> stored(const PreparedWal& wal) {
    std::vector<std::uint8_t> bytes = wal.file.meta_frame;
    bytes.insert(bytes.end(), wal.file.payload.begin(), wal.file.payload.end());
    return bytes;
}

Destination dest(const std::string& name) {
    return walferry::testing::memory_destination(name);
}

// Destinations "a" and "b": timeline 1 segments 1..4, timeline 2 from segment 5 (5..6).
struct Archives {
    Archives() {
        for (const char* name : {"a", "b"}) {
            MemoryStore& s = stores[name];
            s.set(kArchiveInfoName, format_archive_info({7, 15, kSeg}));
            s.files["00000002.history.zst"] =
                stored(walferry::testing::prepared_history(2, walferry::testing::kHistoryTwo));
            for (std::uint64_t i = 1; i <= 2; ++i) s.set(seg(1, i), "x");
            for (std::uint64_t i = 3; i <= 6; ++i) s.set(seg(2, i), "y");
        }
    }
    StatusReport collect() {
        StatusReport r = collect_status({dest("a"), dest("b")}, stores.opener(), 100);
        assess(r);
        return r;
    }
    MemoryDestinations stores;
};

std::string text_of(const StatusReport& r) {
    std::ostringstream out;
    render_text(r, out);
    return out.str();
}

}  // namespace

TEST_CASE("status: a healthy pair of archives is OK and lists each once", "[status]") {
    Archives a;
    const StatusReport r = a.collect();
    CHECK(r.findings.empty());
    CHECK(r.level() == Level::kOk);
    // One listing; of the files only walferry.info and the history are read.
    std::vector<std::string> gets;
    for (const std::string& call : a.stores["a"].calls) {
        if (call.starts_with("get ")) gets.push_back(call);
    }
    CHECK(a.stores["a"].calls.front() == "list");
    CHECK(gets == std::vector<std::string>{"get walferry.info", "get 00000002.history.zst"});
    const std::string text = text_of(r);
    CHECK(text.find("OK: every destination complete") != std::string::npos);
    CHECK(text.find("└─ 2  from 1 at 0/3000000 (no recovery target specified)") !=
          std::string::npos);
}

TEST_CASE("status: a gap on one destination is CRITICAL and names it", "[status]") {
    Archives a;
    a.stores["b"].files.erase(seg(2, 4));
    const StatusReport r = a.collect();
    CHECK(r.level() == Level::kCritical);
    REQUIRE(r.findings.size() == 2);
    CHECK(r.findings[0].destination == "b");
    CHECK(r.findings[0].message ==
          "gap on timeline 2: 000000020000000000000004 missing (1 segment)");
    CHECK(r.findings[1].level == Level::kWarning);  // a holds it
}

TEST_CASE("status: an unreachable destination is CRITICAL with the reason", "[status]") {
    Archives a;
    a.stores["a"].fail(MemoryStore::Op::kList);
    const StatusReport r = a.collect();
    CHECK(r.level() == Level::kCritical);
    REQUIRE(!r.findings.empty());
    CHECK(r.findings[0].destination == "a");
    CHECK(r.findings[0].message.starts_with("unreachable: "));
}

TEST_CASE("status: a backlog and lag over warn_lag are WARNING, over crit_lag CRITICAL",
          "[status]") {
    StatusReport r;
    r.seg_size = kSeg;
    r.thresholds = {2, 4};
    r.spool = SpoolReport{"/spool", true, {{"a", 3, 300, 20}}, {}, 0, {}};
    assess(r);
    CHECK(r.level() == Level::kWarning);
    CHECK(r.findings.at(0).message == "backlog of 3 file(s), 300 bytes, oldest 20 s old");
    ServerReport s;
    s.name = "pg1";
    s.current_wal = "000000010000000000000010";
    s.lags.push_back(lag_behind("a", parse_wal_name("000000010000000000000010"), Lsn{0x10000100},
                                std::uint64_t{12}, 90, kSeg, 100));
    r.servers.push_back(s);
    assess(r);
    CHECK(r.servers[0].lags[0].segments == 3);
    CHECK(r.servers[0].lags[0].bytes == 3 * kSeg + 0x100);
    CHECK(r.servers[0].lags[0].seconds == 10);
    CHECK(r.level() == Level::kWarning);
    r.servers[0].lags[0].segments = 5;
    assess(r);
    CHECK(r.level() == Level::kCritical);
    CHECK(r.findings.back().message ==
          "server pg1: a is 5 segment(s) behind 000000010000000000000010 (crit_lag 4)");
}

TEST_CASE("status: up to date means no lag", "[status]") {
    const DestinationLag lag = lag_behind("a", parse_wal_name("000000010000000000000010"),
                                          Lsn{0x10000100}, std::uint64_t{15}, 90, kSeg, 100);
    CHECK(lag.segments == 0);
    CHECK(lag.bytes == 0);
    CHECK(lag.last == "00000001000000000000000F");
}

TEST_CASE("status: JSON names every destination, gap and finding", "[status]") {
    Archives a;
    a.stores["b"].files.erase(seg(2, 4));
    std::ostringstream out;
    render_json(a.collect(), out);
    const std::string json = out.str();
    CHECK(json.starts_with("{\"format\":1,\"status\":\"CRITICAL\",\"exit_status\":2,"));
    CHECK(json.find("\"gaps\":[{\"timeline\":2,\"from\":\"000000020000000000000004\",\"to\":"
                    "\"000000020000000000000004\",\"segments\":1}]") != std::string::npos);
    CHECK(json.find("{\"timeline\":2,\"parent\":1,\"switch_point\":\"0/3000000\",\"reason\":"
                    "\"no recovery target specified\"}") != std::string::npos);
    CHECK(json.find("\"missing\":[\"000000020000000000000004.zst\"]") != std::string::npos);
}

TEST_CASE("status: the Prometheus output has a family per metric", "[status]") {
    Archives a;
    a.stores["b"].files.erase(seg(2, 4));
    StatusReport r = a.collect();
    r.spool = SpoolReport{"/spool", true, {{"a\"x", 3, 300, 20}}, {}, 0, {}};
    std::ostringstream out;
    render_prometheus(r, out);
    const std::string p = out.str();
    CHECK(
        p.starts_with("# HELP walferry_status Overall status: 0 OK, 1 WARNING, 2 CRITICAL.\n"
                      "# TYPE walferry_status gauge\nwalferry_status 2\n"));
    CHECK(p.find("walferry_gaps{destination=\"b\"} 1\n") != std::string::npos);
    CHECK(p.find("walferry_gaps{destination=\"a\"} 0\n") != std::string::npos);
    CHECK(p.find("walferry_backlog_bytes{destination=\"a\\\"x\"} 300\n") != std::string::npos);
    // No sample where the store knows no mtime (the memory store): no made-up age.
    CHECK(p.find("# TYPE walferry_last_segment_age_seconds gauge\n# HELP walferry_files") !=
          std::string::npos);
}

TEST_CASE("status: a long chain is drawn flat, a branch indented", "[status]") {
    HistoryMap h;
    std::string text;
    for (std::uint32_t t = 2; t <= 13; ++t) {
        text += std::to_string(t - 1) + "\t0/" + std::to_string(t) + "000000\tpromoted\n";
        h.emplace(t, TimelineHistory::parse(t, text));
    }
    h.emplace(14, TimelineHistory::parse(14, "1\t0/2000000\tpromoted\n2\t0/2800000\tsibling\n"));
    const auto lines = tree_lines(timeline_tree(h, {}));
    REQUIRE(lines.size() == 14);
    CHECK(lines[0] == "1");
    CHECK(lines[1] == "└─ 2  from 1 at 0/2000000 (promoted)");
    CHECK(lines[2] == "├─ 3  from 2 at 0/3000000 (promoted)");
    CHECK(lines[3] == "│  └─ 4  from 3 at 0/4000000 (promoted)");
    CHECK(lines[12] == "│  └─ 13  from 12 at 0/13000000 (promoted)");
    CHECK(lines[13] == "└─ 14  from 2 at 0/2800000 (sibling)");
}

TEST_CASE("status: verify names a damaged copy and counts the sound ones", "[status]") {
    Archives a;
    auto& bytes = a.stores["b"].files["00000002.history.zst"];
    bytes.back() ^= 0x01;
    a.stores["a"].files.erase(seg(1, 1));
    a.stores["b"].files.erase(seg(1, 1));
    StatusReport r = collect_status({dest("a"), dest("b")}, a.stores.opener(), 100);
    // Segments here are not containers: every one is damaged; the history of a is sound.
    verify_destinations(r, {dest("a"), dest("b")}, a.stores.opener(), 2);
    assess(r);
    REQUIRE(r.destinations[0].verify);
    CHECK(r.destinations[0].verify->files == 6);
    CHECK(r.destinations[0].verify->damaged.size() == 5);
    CHECK(r.destinations[1].verify->damaged.size() == 6);
    const auto& damaged = r.destinations[1].verify->damaged;
    auto history = std::find_if(damaged.begin(), damaged.end(), [](const DamagedFile& f) {
        return f.file == "00000002.history.zst";
    });
    REQUIRE(history != damaged.end());
    CHECK(history->message.starts_with("\"00000002.history.zst\" in memory://b is damaged: "));
    CHECK(r.level() == Level::kCritical);
}
