// The s3:// keys of a [[destination]].
#include <catch2/catch.hpp>

#include "base/error.h"
#include "cli/config.h"
#include "expect_error.h"

using namespace walferry;

TEST_CASE("config: an s3 destination with every key", "[config][s3]") {
    Config c = parse_config(R"(
[[destination]]
name = "s3"
url = "s3://pg-archive/cluster1"
endpoint = "https://rgw.example:7480"
region = "eu-west-1"
uri_style = "path"
access_key_id = "AKIA123"
secret_access_key_file = "/etc/walferry/s3.secret"
ca_file = "/etc/ssl/certs/internal-ca.pem"
retries = 5
connect_timeout = 3
io_timeout = 20
)",
                            "test.toml", "/pgdata");
    REQUIRE(c.destinations.size() == 1);
    const Destination& d = c.destinations[0];
    CHECK(d.location.url() == "s3://pg-archive/cluster1");
    CHECK(d.endpoint == "https://rgw.example:7480");
    CHECK(d.region == "eu-west-1");
    CHECK(d.uri_style == "path");
    CHECK(d.access_key_id == "AKIA123");
    CHECK(d.secret_access_key_file == "/etc/walferry/s3.secret");
    CHECK(d.ca_file == "/etc/ssl/certs/internal-ca.pem");
    CHECK(d.retries == 5);
    CHECK(d.connect_timeout_s == 3);
    CHECK(d.io_timeout_s == 20);
}

TEST_CASE("config: an s3 destination's defaults", "[config][s3]") {
    Config c = parse_config("[[destination]]\nurl = \"s3://pg-archive\"\n", "test.toml", "/");
    const Destination& d = c.destinations.at(0);
    const Destination defaults;
    CHECK(d.name == "s3://pg-archive");
    CHECK(d.endpoint.empty());
    CHECK(d.region == defaults.region);
    CHECK(d.uri_style.empty());
    CHECK(d.access_key_id.empty());
    CHECK(d.secret_access_key_file.empty());
    CHECK(d.ca_file.empty());
    CHECK(d.retries == defaults.retries);
}

TEST_CASE("config: s3 keys are refused on other destinations and checked on s3", "[config][s3]") {
    using test_errors::error_message;
    auto error = [](const std::string& text) {
        return error_message(ErrorCode::kConfig, [&] { parse_config(text, "test.toml", "/"); });
    };
    CHECK_THAT(error("[[destination]]\nurl = \"/a\"\nendpoint = \"https://h\"\n"),
               Catch::Contains("destination.endpoint: only for s3:// destinations"));
    CHECK_THAT(error("[[destination]]\nurl = \"sftp://h/a\"\nsecret_access_key_file = \"/s\"\n"),
               Catch::Contains("only for s3://"));
    CHECK_THAT(error("[[destination]]\nurl = \"s3://bbb\"\nuri_style = \"vhost\"\n"),
               Catch::Contains("uri_style must be \"path\" or \"virtual\""));
    CHECK_THAT(error("[[destination]]\nurl = \"s3://bbb\"\nendpoint = \"rgw:7480\"\n"),
               Catch::Contains("endpoint must start with https://"));
    CHECK_THAT(error("[[destination]]\nurl = \"s3://bbb\"\nretries = -1\n"),
               Catch::Contains("destination.retries"));
    CHECK_THAT(error("[[destination]]\nurl = \"s3://bbb\"\nregion = 5\n"),
               Catch::Contains("destination.region: must be a string"));
    CHECK_THAT(error("[[destination]]\nurl = \"s3://bbb\"\nsecret_access_key = \"x\"\n"),
               Catch::Contains("unknown key"));
}
