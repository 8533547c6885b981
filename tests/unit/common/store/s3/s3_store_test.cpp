// The parts of S3Store that need no server: the metadata headers, the probe's decision, answers
// read. The requests themselves go to a real Ceph RGW in tests/e2e.
#include "store/s3/s3_store.h"

#include <catch2/catch.hpp>

#include "archive/container.h"
#include "base/error.h"
#include "expect_error.h"
#include "store/location.h"

using namespace walferry;

TEST_CASE("s3 metadata headers carry the container's metadata", "[s3]") {
    ContainerMeta meta;
    meta.name = "000000010000000000000007";
    meta.raw_size = 16 << 20;
    meta.sha256.fill(0xab);
    meta.sysid = 7312345678901234567ULL;
    meta.tli = 1;
    meta.pg_major = 15;
    std::vector<std::uint8_t> frame = encode_meta_frame(meta);
    frame.push_back(0x28);  // the payload may follow in the same part
    ObjectMetadata m = walferry_metadata(frame);
    std::string hex;
    for (int i = 0; i < 32; ++i) hex += "ab";
    CHECK(m == ObjectMetadata{{"container", "1"},
                              {"name", "000000010000000000000007"},
                              {"raw-size", "16777216"},
                              {"sha256", hex},
                              {"sysid", "7312345678901234567"},
                              {"tli", "1"},
                              {"pg-major", "15"}});
    // A history file: no WAL page fields.
    ContainerMeta history;
    history.name = "00000002.history";
    history.raw_size = 42;
    CHECK(walferry_metadata(encode_meta_frame(history)).size() == 4);
    // walferry.info is text, not a container: no headers.
    const std::string info = "sysid=1\n";
    CHECK(walferry_metadata({reinterpret_cast<const std::uint8_t*>(info.data()), info.size()})
              .empty());
    CHECK(walferry_metadata({}).empty());
}

TEST_CASE("s3 the If-None-Match probe: 412 on the second create or refused", "[s3]") {
    CHECK(probe_verdict(200, 412) == ProbeVerdict::kHonoured);
    CHECK(probe_verdict(200, 200) == ProbeVerdict::kIgnored);
    CHECK(probe_verdict(201, 204) == ProbeVerdict::kIgnored);
    std::string message =
        test_errors::error_message(ErrorCode::kUnavailable, [] { probe_verdict(412, 412); });
    CHECK_THAT(message, Catch::Contains("HTTP 412 then HTTP 412"));
    test_errors::error_message(ErrorCode::kUnavailable, [] { probe_verdict(200, 500); });
}

TEST_CASE("s3 Content-Range gives the object's size", "[s3]") {
    CHECK(content_range_total("bytes 0-1023/16777300") == 16777300u);
    CHECK(content_range_total("bytes 0-9/10") == 10u);
    CHECK_FALSE(content_range_total("bytes 0-9/*"));
    CHECK_FALSE(content_range_total("0-9/10"));
    CHECK_FALSE(content_range_total(""));
}

TEST_CASE("s3 store: described by its URL and opened without I/O", "[s3]") {
    Destination d;
    d.location = parse_location("s3://pg-archive/c1", "/");
    d.name = "s3";
    d.endpoint = "https://127.0.0.1:1";
    S3Store store(d, [](const char*) -> const char* { return nullptr; });
    CHECK(store.describe() == "s3://pg-archive/c1");
    CHECK(store.url_of("walferry.info") == "s3://pg-archive/c1/walferry.info");
    // No credentials: the first operation says so, before any request.
    CHECK_THAT(test_errors::error_message(ErrorCode::kConfig, [&] { store.list(); }),
               Catch::Contains("no access key"));
    // Names are checked as on every backend.
    test_errors::error_message(ErrorCode::kInvalidName, [&] { store.stat("a/b", 0); });
}
