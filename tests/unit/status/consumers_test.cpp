// walferry-status's cleanup consumers: read from each destination without the cleanup lock,
// shown with cutoff and age, a stale one WARNING, damaged records one WARNING line. The records
// are real files in a scratch directory (LocalConsumerStore), the archives' files in memory.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <string>

#include "archive/archive_info.h"
#include "archive/consumer_registry.h"
#include "memory_store_opener.h"
#include "scratch_dir.h"
#include "status/render.h"
#include "status/status.h"
#include "store/local_consumer_store.h"

using namespace walferry;
using Catch::Contains;
using walferry::testing::MemoryDestinations;

namespace {

constexpr std::int64_t kNow = 1700000000;
constexpr std::int64_t kDay = 86400;

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

Destination dest(const std::string& name) {
    return walferry::testing::memory_destination(name);
}

// Destinations "a" (its consumer records in a scratch directory) and "b" (a backend that holds
// none), each with walferry.info and one segment.
struct Archives {
    Archives() {
        for (const char* name : {"a", "b"}) {
            MemoryStore& s = stores[name];
            s.set(kArchiveInfoName, format_archive_info({7, 15, 16u << 20}));
            s.set("000000010000000000000001.zst", "x");
        }
        stores["a"].consumer_dir = dir.path();
    }
    void record(const std::string& name, const char* cutoff, std::int64_t updated) const {
        ConsumerRegistry(std::make_unique<LocalConsumerStore>(dir.path(), ConsumerAccess::kCreate))
            .record(name, parse_wal_name(cutoff), updated);
    }
    StatusReport collect(std::int64_t stale_after) {
        StatusReport r = collect_status({dest("a"), dest("b")}, stores.opener(), kNow);
        r.thresholds.stale_consumer_seconds = stale_after;
        assess(r);
        return r;
    }
    ScratchDir dir;
    MemoryDestinations stores;
};

template <typename Render>
std::string rendered(const StatusReport& r, Render render) {
    std::ostringstream out;
    render(r, out);
    return out.str();
}

}  // namespace

TEST_CASE("status consumer staleness: older than the limit, never with 0, not from the future",
          "[status]") {
    CHECK_FALSE(consumer_stale(kNow - kDay, kNow, kDay));  // exactly the limit: not yet
    CHECK(consumer_stale(kNow - kDay - 1, kNow, kDay));
    CHECK_FALSE(consumer_stale(kNow - 10, kNow, kDay));
    CHECK_FALSE(consumer_stale(0, kNow, 0));            // 0: never stale
    CHECK_FALSE(consumer_stale(kNow + 3600, kNow, 1));  // another host's clock ahead
}

TEST_CASE("status: cleanup consumers with cutoff and age, a stale one is WARNING and named",
          "[status]") {
    Archives a;
    a.record("standby1", "000000010000000000000001", kNow - 90);
    a.record("old-standby", "000000010000000000000001", kNow - 3 * kDay);
    StatusReport r = a.collect(kDay);
    REQUIRE(r.destinations.size() == 2);
    const DestinationReport& d = r.destinations[0];
    REQUIRE(d.consumers.size() == 2);
    CHECK(d.consumers[0].name == "old-standby");
    CHECK(d.consumers[1].name == "standby1");
    CHECK(d.consumers[1].cutoff == "000000010000000000000001");
    CHECK(d.consumers[1].updated == kNow - 90);
    CHECK_FALSE(d.consumers_error);
    CHECK(r.destinations[1].consumers.empty());  // a backend without records: nothing to say
    CHECK_FALSE(r.destinations[1].consumers_error);

    CHECK(r.level() == Level::kWarning);
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].destination == "a");
    CHECK_THAT(r.findings[0].message,
               Contains("\"old-standby\" is stale") && Contains("259200 s ago") &&
                   Contains("--forget-consumer old-standby file:///walferry-test/a"));

    const std::string text = rendered(r, render_text);
    CHECK_THAT(text, Contains("cleanup consumers (stale when not updated for 24h)"));
    CHECK_THAT(text, Contains("old-standby") && Contains("3d ago") && Contains("STALE"));
    CHECK_THAT(text, Contains("90s ago"));
    CHECK_THAT(text, Contains("WARNING  a: cleanup consumer \"old-standby\" is stale"));

    const std::string json = rendered(r, render_json);
    CHECK_THAT(json, Contains("\"stale_consumer_seconds\":86400"));
    CHECK_THAT(json, Contains("\"consumers\":[{\"name\":\"old-standby\",\"cutoff\":"
                              "\"000000010000000000000001\",\"updated\":1699740800,"
                              "\"age_seconds\":259200,\"stale\":true},{\"name\":\"standby1\""));
    CHECK_THAT(json, Contains("\"age_seconds\":90,\"stale\":false}],\"consumers_error\":null}"));

    const std::string prom = rendered(r, render_prometheus);
    CHECK_THAT(prom, Contains("walferry_cleanup_consumers{destination=\"a\"} 2\n"));
    CHECK_THAT(prom, Contains("walferry_cleanup_consumers{destination=\"b\"} 0\n"));
    CHECK_THAT(prom, Contains("walferry_cleanup_consumers_stale{destination=\"a\"} 1\n"));
    CHECK_THAT(prom, Contains("walferry_cleanup_consumer_age_seconds{destination=\"a\","
                              "consumer=\"old-standby\"} 259200\n"));
    CHECK_THAT(prom, Contains("walferry_cleanup_consumers_unreadable{destination=\"a\"} 0\n"));

    // A longer limit, or none: OK.
    CHECK(a.collect(7 * kDay).level() == Level::kOk);
    CHECK(a.collect(0).level() == Level::kOk);
}

TEST_CASE("status: a damaged consumer record is one WARNING line, the others still shown",
          "[status]") {
    Archives a;
    a.record("standby1", "000000010000000000000001", kNow - 90);
    a.dir.write(std::string(kCleanupStateDir) + "/consumers/broken", "cutoff = \"nonsense\"\n");
    StatusReport r = a.collect(kDay);
    const DestinationReport& d = r.destinations[0];
    REQUIRE(d.consumers_error);
    CHECK_THAT(*d.consumers_error, Contains("consumers/broken\" is damaged"));
    CHECK(r.level() == Level::kWarning);
    REQUIRE(r.findings.size() == 1);
    CHECK(r.findings[0].message.find('\n') == std::string::npos);
    CHECK_THAT(r.findings[0].message, Contains("cleanup consumers cannot be read"));
    CHECK_THAT(rendered(r, render_text), Contains("UNREADABLE"));
    CHECK_THAT(rendered(r, render_json), Contains("\"consumers_error\":\"cleanup consumer record"));
    CHECK_THAT(rendered(r, render_prometheus),
               Contains("walferry_cleanup_consumers_unreadable{destination=\"a\"} 1\n"));
}

TEST_CASE("status: looking at the consumers writes nothing into the archive", "[status]") {
    Archives a;
    StatusReport r = a.collect(kDay);
    CHECK(r.destinations[0].consumers.empty());
    CHECK_FALSE(exists(a.dir / std::string(kCleanupStateDir)));  // no state folder made
    a.record("standby1", "000000010000000000000001", kNow - 90);
    const std::string lock = a.dir / (std::string(kCleanupStateDir) + "/lock");
    REQUIRE(::unlink(lock.c_str()) == 0);
    r = a.collect(kDay);
    CHECK(r.destinations[0].consumers.size() == 1);
    CHECK_FALSE(exists(lock));  // no lock file either, so no lock was taken
}
