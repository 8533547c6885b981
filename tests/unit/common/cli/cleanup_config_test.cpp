// The config keys of walferry-cleanup --prune: [[server]], [cleanup], and durations.
#include <catch2/catch.hpp>
#include <string>

#include "base/error.h"
#include "cli/config.h"
#include "expect_error.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

namespace {

Config parse(std::string_view text) {
    return parse_config(text, "cleanup.toml", "/pgdata");
}

std::string error_of(const std::string& text) {
    INFO("config: " << text);
    std::string msg = error_message(ErrorCode::kConfig, [&] { parse(text); });
    CHECK_THAT(msg, Contains("config \"cleanup.toml\""));
    return msg;
}

}  // namespace

TEST_CASE("cleanup config: the man page's example parses", "[config][cleanup]") {
    Config c = parse(R"(
[[server]]
name = "standby1"
conninfo = "host=10.0.0.2 user=postgres dbname=postgres"
[[server]]
name = "primary"
conninfo = "postgresql://postgres@10.0.0.1:5433/postgres?sslmode=disable"
[cleanup]
keep_backups = 2
keep_age = "7d"
consumer_ttl = "12h"
)");
    REQUIRE(c.servers.size() == 2);
    CHECK(c.servers[0].name == "standby1");
    CHECK(c.servers[0].conninfo == "host=10.0.0.2 user=postgres dbname=postgres");
    CHECK(c.servers[1].name == "primary");
    CHECK(c.servers[1].conninfo == "postgresql://postgres@10.0.0.1:5433/postgres?sslmode=disable");
    CHECK(c.cleanup.keep_backups == 2);
    CHECK(c.cleanup.keep_age_seconds == 7 * 86400);
    CHECK(c.cleanup.consumer_ttl_seconds == 12 * 3600);
}

TEST_CASE("cleanup config: defaults and plain seconds", "[config][cleanup]") {
    Config none = parse("");
    CHECK(none.servers.empty());
    CHECK(none.cleanup.keep_backups == 0);
    CHECK(none.cleanup.keep_age_seconds == 0);
    CHECK(none.cleanup.consumer_ttl_seconds == 7 * 86400);

    Config empty = parse("[cleanup]\n");
    CHECK(empty.cleanup.consumer_ttl_seconds == 7 * 86400);

    Config seconds = parse("[cleanup]\nkeep_age = 3600\nconsumer_ttl = 0\nkeep_backups = 10000\n");
    CHECK(seconds.cleanup.keep_age_seconds == 3600);
    CHECK(seconds.cleanup.consumer_ttl_seconds == 0);
    CHECK(seconds.cleanup.keep_backups == 10000);
    CHECK(parse("[cleanup]\nkeep_age = \"90\"").cleanup.keep_age_seconds == 90);
    CHECK(parse("[cleanup]\nkeep_age = \"15m\"").cleanup.keep_age_seconds == 900);
}

TEST_CASE("cleanup config: bad [[server]] entries name the key", "[config][cleanup]") {
    CHECK_THAT(error_of("[[server]]\nconninfo = \"host=a\""), Contains("server.name: missing"));
    CHECK_THAT(error_of("[[server]]\nname = \"a\""), Contains("server.conninfo: missing"));
    CHECK_THAT(error_of("[[server]]\nname = \"\"\nconninfo = \"host=a\""),
               Contains("server.name: missing"));
    CHECK_THAT(error_of("[[server]]\nname = \"a\"\nconninfo = \"\""),
               Contains("server.conninfo: missing"));
    CHECK_THAT(error_of("[[server]]\nname = 7\nconninfo = \"host=a\""),
               Contains("server.name: must be a string"));
    CHECK_THAT(error_of("[[server]]\nname = \"a\"\nconninfo = [\"host=a\"]"),
               Contains("server.conninfo: must be a string"));
    CHECK_THAT(error_of("[[server]]\nname = \"a\"\nconninfo = \"host=a\"\nhost = \"b\""),
               Contains("server.host: unknown key"));
    CHECK_THAT(error_of("[[server]]\nname = \"a\"\nconninfo = \"host=a\"\n"
                        "[[server]]\nname = \"a\"\nconninfo = \"host=b\""),
               Contains("server.name: duplicate \"a\""));
    CHECK_THAT(error_of("server = \"host=a\""), Contains("server: must be an array of tables"));
    CHECK_THAT(error_of("server = [1, 2]"), Contains("server: must be an array of tables"));
    CHECK_THAT(error_of("[server]\nname = \"a\"\nconninfo = \"host=a\""),
               Contains("server: must be an array of tables"));
    CHECK_THAT(error_of("servers = []"), Contains("servers: unknown key"));
}

TEST_CASE("cleanup config: bad [cleanup] values name the key", "[config][cleanup]") {
    CHECK_THAT(error_of("[cleanup]\nkeep_backups = -1"),
               Contains("cleanup.keep_backups: must be between 0 and 10000"));
    CHECK_THAT(error_of("[cleanup]\nkeep_backups = 10001"), Contains("between 0 and 10000"));
    CHECK_THAT(error_of("[cleanup]\nkeep_backups = \"2\""),
               Contains("cleanup.keep_backups: must be an integer"));
    CHECK_THAT(error_of("[cleanup]\nkeep_backups = 2.0"), Contains("must be an integer"));
    CHECK_THAT(error_of("[cleanup]\nkeep_age = \"7w\""),
               Contains("cleanup.keep_age") && Contains("invalid duration \"7w\""));
    CHECK_THAT(error_of("[cleanup]\nkeep_age = \"\""), Contains("invalid duration"));
    CHECK_THAT(error_of("[cleanup]\nkeep_age = 1.5"),
               Contains("cleanup.keep_age: must be a duration"));
    CHECK_THAT(error_of("[cleanup]\nkeep_age = true"), Contains("must be a duration"));
    CHECK_THAT(error_of("[cleanup]\nkeep_age = -5"),
               Contains("cleanup.keep_age: must be between 0"));
    CHECK_THAT(error_of("[cleanup]\nconsumer_ttl = \"-1d\""),
               Contains("cleanup.consumer_ttl") && Contains("invalid duration"));
    CHECK_THAT(error_of("[cleanup]\nkeep_days = 3"), Contains("cleanup.keep_days: unknown key"));
    CHECK_THAT(error_of("cleanup = 3"), Contains("cleanup: must be a table"));
    CHECK_THAT(error_of("[[cleanup]]\nkeep_backups = 1"), Contains("cleanup: must be a table"));
}

TEST_CASE("cleanup config: parse_duration: number with s, m, h or d, or plain seconds",
          "[config][cleanup]") {
    CHECK(parse_duration("0", "x") == 0);
    CHECK(parse_duration("90", "x") == 90);
    CHECK(parse_duration("90s", "x") == 90);
    CHECK(parse_duration("15m", "x") == 900);
    CHECK(parse_duration("12h", "x") == 43200);
    CHECK(parse_duration("7d", "x") == 604800);
    CHECK(parse_duration("007d", "x") == 604800);
    CHECK(parse_duration("106751991d", "x") == 106751991LL * 86400);
    for (const char* bad :
         {"", "d", "s7", "7w", "7D", "7 d", " 7d", "7d ", "7dd", "1.5h", "-1", "+1", "7ms", "1h30m",
          "0x10", "99999999999999999999", "9223372036854775807", "9223372036854775d", "\x01"}) {
        INFO("duration \"" << bad << "\"");
        std::string msg =
            error_message(ErrorCode::kConfig, [&] { parse_duration(bad, "cleanup.keep_age"); });
        CHECK_THAT(msg, Contains("cleanup.keep_age: invalid duration"));
    }
}
