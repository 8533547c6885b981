#include "cli/config.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "base/error.h"

using namespace walferry;

namespace {

std::string config_error(std::string_view text) {
    try {
        parse_config(text, "test.toml", "/pgdata");
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kConfig);
        return e.what();
    }
    FAIL("no error for: " << text);
    return {};
}

}  // namespace

TEST_CASE("the design's example config parses", "[config]") {
    Config c = parse_config(R"(
node = "pg1"
spool = "/var/lib/walferry"
compress_level = 3
required = 1
[[destination]]
name = "pg2"
url = "sftp://postgres@10.0.0.2:22/var/lib/pgarchive"
identity = "/home/pg/.ssh/id_ed25519"
known_hosts = "/home/pg/.ssh/known_hosts"
[[destination]]
name = "pg1"
url = "file:///var/lib/pgarchive"
[fetch]
retries = 5
retry_delay_ms = 100
prefetch = 16
)",
                            "test.toml", "/pgdata");
    CHECK(c.node == "pg1");
    CHECK(c.compress_level == 3);
    REQUIRE(c.required);
    CHECK(*c.required == 1);
    REQUIRE(c.destinations.size() == 2);
    CHECK(c.destinations[0].location.host == "10.0.0.2");
    CHECK(c.destinations[0].identity == "/home/pg/.ssh/id_ed25519");
    CHECK(c.fetch.retries == 5);
    CHECK(c.fetch.retry_delay_ms == 100);
    CHECK(c.fetch.prefetch == 16);
    // The node skips itself: one file serves every node.
    auto active = active_destinations(c);
    REQUIRE(active.size() == 1);
    CHECK(active[0].name == "pg2");
}

TEST_CASE("defaults apply to an empty config", "[config]") {
    Config c = parse_config("", "test.toml", "/pgdata");
    CHECK_FALSE(c.required);
    CHECK(c.compress_level == -1);
    CHECK(c.fetch.retries == 3);
    CHECK(c.destinations.empty());
}

TEST_CASE("a key left out keeps the default config.h declares", "[config]") {
    // The documented defaults (man pages, README), pinned: config.cpp no longer restates them.
    const Config defaults;
    CHECK(defaults.spool == "/var/lib/walferry");
    CHECK(defaults.compress_level == -1);
    CHECK(defaults.batch == 16);
    CHECK(defaults.backlog_cap_bytes == 1ull << 30);
    CHECK(defaults.fetch.prefetch == 8);
    CHECK(defaults.cleanup.consumer_ttl_seconds == 7 * 86400);
    // A table that sets one key leaves the others at their defaults.
    Config c = parse_config(R"(
[[destination]]
url = "sftp://pg@10.0.0.2/arch"
[fetch]
retries = 5
[cleanup]
keep_backups = 2
)",
                            "test.toml", "/pgdata");
    CHECK(c.spool == defaults.spool);
    CHECK(c.compress_level == defaults.compress_level);
    CHECK(c.threads == defaults.threads);
    CHECK(c.batch == defaults.batch);
    CHECK(c.backlog_cap_bytes == defaults.backlog_cap_bytes);
    CHECK(c.fetch.retries == 5);
    CHECK(c.fetch.retry_delay_ms == defaults.fetch.retry_delay_ms);
    CHECK(c.fetch.prefetch == defaults.fetch.prefetch);
    CHECK(c.cleanup.keep_backups == 2);
    CHECK(c.cleanup.keep_age_seconds == defaults.cleanup.keep_age_seconds);
    CHECK(c.cleanup.consumer_ttl_seconds == defaults.cleanup.consumer_ttl_seconds);
    REQUIRE(c.destinations.size() == 1);
    const Destination d;
    CHECK(c.destinations[0].connect_timeout_s == d.connect_timeout_s);
    CHECK(c.destinations[0].io_timeout_s == d.io_timeout_s);
    CHECK(c.destinations[0].accept_new_host_keys == d.accept_new_host_keys);
    CHECK(c.destinations[0].remote_sync == d.remote_sync);
    CHECK(c.destinations[0].identity.empty());
}

TEST_CASE("required accepts \"all\" or a count", "[config]") {
    CHECK_FALSE(parse_config("required = \"all\"", "t", "/").required);
    CHECK_THAT(config_error("required = \"some\""), Catch::Contains("required"));
    CHECK_THAT(config_error("required = 0"), Catch::Contains("between 1"));
    CHECK_THAT(config_error("required = 2\n[[destination]]\nurl = \"/a\""),
               Catch::Contains("larger than the number of destinations"));
}

TEST_CASE("config mistakes are errors naming the key", "[config]") {
    CHECK_THAT(config_error("nod = \"x\""), Catch::Contains("nod: unknown key"));
    CHECK_THAT(config_error("compress_level = \"fast\""), Catch::Contains("must be an integer"));
    CHECK_THAT(config_error("compress_level = 99"), Catch::Contains("between"));
    CHECK_THAT(config_error("[[destination]]\nname = \"a\""), Catch::Contains("url: missing"));
    CHECK_THAT(config_error("[[destination]]\nurl = \"/a\"\nurll = \"/b\""),
               Catch::Contains("destination.urll: unknown key"));
    CHECK_THAT(config_error("[[destination]]\nurl = \"ftp://x/a\""),
               Catch::Contains("unknown scheme"));
    CHECK_THAT(config_error("[[destination]]\nname=\"a\"\nurl=\"/a\"\n[[destination]]\nname=\"a\"\n"
                            "url=\"/b\""),
               Catch::Contains("duplicate"));
    CHECK_THAT(config_error("[fetch]\nretries = -1"), Catch::Contains("fetch"));
    CHECK_THAT(config_error("destination = 3"), Catch::Contains("array of tables"));
    CHECK_THAT(config_error("node = \"a\"\nnode = \"b\""), Catch::Contains("line 2"));
}

TEST_CASE("load_config finds -c, then $WALFERRY_CONFIG", "[config]") {
    char dir[] = "/tmp/walferry-config-test.XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string path = std::string(dir) + "/w.toml";
    std::ofstream(path) << "node = \"from-file\"\n";
    CHECK(load_config(path, "/").node == "from-file");
    CHECK(load_config(path, "/").origin == path);
    ::setenv("WALFERRY_CONFIG", path.c_str(), 1);
    CHECK(load_config(std::nullopt, "/").node == "from-file");
    std::string missing = std::string(dir) + "/missing.toml";
    ::setenv("WALFERRY_CONFIG", missing.c_str(), 1);
    CHECK_THROWS_WITH(load_config(std::nullopt, "/"), Catch::Contains("cannot read config"));
    ::unsetenv("WALFERRY_CONFIG");
    CHECK_THROWS_WITH(load_config(missing, "/"), Catch::Contains("No such file"));
    std::remove(path.c_str());
    ::rmdir(dir);
}
