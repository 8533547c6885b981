// The config keys of walferry-status: [status] thresholds.
#include <catch2/catch.hpp>
#include <string>

#include "base/error.h"
#include "cli/config.h"
#include "expect_error.h"

using namespace walferry;
using Catch::Contains;
using test_errors::error_message;

TEST_CASE("status config: thresholds parse and default", "[config][status]") {
    const Config d = parse_config("", "status.toml", "/");
    CHECK(d.status.warn_lag == 2);
    CHECK(d.status.crit_lag == 16);
    CHECK(d.status.switch_timeout_seconds == 60);
    const Config c = parse_config(
        "[status]\nwarn_lag = 4\ncrit_lag = 40\nswitch_timeout = \"2m\"\n", "status.toml", "/");
    CHECK(c.status.warn_lag == 4);
    CHECK(c.status.crit_lag == 40);
    CHECK(c.status.switch_timeout_seconds == 120);
    CHECK_FALSE(c.status.stale_consumer_seconds);  // walferry-status then uses consumer_ttl
    CHECK(parse_config("[status]\nstale_consumer = \"1d\"\n", "status.toml", "/")
              .status.stale_consumer_seconds == 86400);
    CHECK(parse_config("[status]\nstale_consumer = 0\n", "status.toml", "/")
              .status.stale_consumer_seconds == 0);
    CHECK_THAT(
        error_message(
            ErrorCode::kConfig,
            [] { parse_config("[status]\nstale_consumer = \"soon\"\n", "status.toml", "/"); }),
        Contains("status.stale_consumer"));
}

TEST_CASE("status config: an unknown or negative key is named", "[config][status]") {
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [] { parse_config("[status]\nwarn = 1\n", "status.toml", "/"); }),
               Contains("status.warn"));
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [] { parse_config("[status]\ncrit_lag = -1\n", "status.toml", "/"); }),
               Contains("status.crit_lag"));
}
