#include "store/location.h"

#include <catch2/catch.hpp>

#include "base/error.h"

using namespace walferry;

namespace {

std::string config_error(std::string_view text) {
    try {
        parse_location(text, "/pgdata");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kConfig);
        return e.what();
    }
    FAIL("no error for \"" << text << "\"");
    return {};
}

}  // namespace

TEST_CASE("plain and file:// paths become absolute file locations", "[location]") {
    CHECK(parse_location("/var/lib/pgarchive", "/x").url() == "file:///var/lib/pgarchive");
    CHECK(parse_location("/var//lib/pgarchive/", "/x").path == "/var/lib/pgarchive");
    CHECK(parse_location("file:///var/lib/./pgarchive", "/x").path == "/var/lib/pgarchive");
    CHECK(parse_location("archive", "/pgdata").path == "/pgdata/archive");
    CHECK(parse_location("../archive", "/srv/pgdata").path == "/srv/archive");
    CHECK(parse_location("/", "/x").path == "/");
    CHECK(parse_location("/..", "/x").path == "/");
}

TEST_CASE("sftp URLs keep user, host and port", "[location]") {
    Location l = parse_location("sftp://postgres@10.0.0.2:2222/var/lib/pgarchive", "/x");
    CHECK(l.scheme == Location::Scheme::kSftp);
    CHECK(l.user == "postgres");
    CHECK(l.host == "10.0.0.2");
    CHECK(l.port == 2222);
    CHECK(l.path == "/var/lib/pgarchive");
    CHECK(l.url() == "sftp://postgres@10.0.0.2:2222/var/lib/pgarchive");
    Location d = parse_location("sftp://standby/a", "/x");
    CHECK(d.user.empty());
    CHECK(d.port == 22);
    CHECK(d.url() == "sftp://standby:22/a");
}

TEST_CASE("bad locations are refused with the reason", "[location]") {
    CHECK_THAT(config_error(""), Catch::Contains("empty"));
    CHECK_THAT(config_error("http://x/y"), Catch::Contains("unknown scheme"));
    CHECK_THAT(config_error("file://relative/path"), Catch::Contains("absolute"));
    CHECK_THAT(config_error("sftp://host"), Catch::Contains("missing path"));
    CHECK_THAT(config_error("sftp://@host/x"), Catch::Contains("empty user"));
    CHECK_THAT(config_error("sftp://u@:22/x"), Catch::Contains("empty host"));
    CHECK_THAT(config_error("sftp://u@h:0/x"), Catch::Contains("port"));
    CHECK_THAT(config_error("sftp://u@h:65536/x"), Catch::Contains("port"));
    CHECK_THAT(config_error("sftp://u@h:22x/x"), Catch::Contains("port"));
    CHECK_THAT(config_error(std::string_view("/a\0b", 4)), Catch::Contains("NUL"));
}

TEST_CASE("an s3 location names a bucket and a key prefix", "[location][s3]") {
    Location a = parse_location("s3://pg-archive/cluster1", "/pgdata");
    CHECK(a.scheme == Location::Scheme::kS3);
    CHECK(a.host == "pg-archive");
    CHECK(a.path == "/cluster1");
    CHECK(a.url() == "s3://pg-archive/cluster1");
    // Trailing and doubled slashes are one archive; no prefix is the bucket's root.
    CHECK(parse_location("s3://pg-archive//cluster1/", "/").url() == "s3://pg-archive/cluster1");
    CHECK(parse_location("s3://pg-archive/a/b", "/").path == "/a/b");
    Location root = parse_location("s3://pg-archive", "/");
    CHECK(root.path == "/");
    CHECK(root.url() == "s3://pg-archive");
    CHECK(parse_location("s3://pg-archive/", "/").url() == "s3://pg-archive");
}

TEST_CASE("an s3 bucket name must follow S3's rules", "[location][s3]") {
    CHECK_THAT(config_error("s3://ab/x"), Catch::Contains("3 to 63"));
    CHECK_THAT(config_error("s3:///x"), Catch::Contains("3 to 63"));
    CHECK_THAT(config_error("s3://" + std::string(64, 'a')), Catch::Contains("3 to 63"));
    CHECK_THAT(config_error("s3://Upper/x"), Catch::Contains("a-z, 0-9"));
    CHECK_THAT(config_error("s3://user@bucket/x"), Catch::Contains("a-z, 0-9"));
    CHECK_THAT(config_error("gs://bucket/x"), Catch::Contains("s3://"));
}
