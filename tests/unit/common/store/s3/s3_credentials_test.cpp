#include "store/s3/s3_credentials.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <map>

#include "base/error.h"
#include "expect_error.h"
#include "scratch_dir.h"
#include "store/location.h"

using namespace walferry;
using test_errors::error_message;

namespace {

Destination s3_destination() {
    Destination d;
    d.name = "rgw";
    d.location = parse_location("s3://pg-archive/c1", "/");
    return d;
}

EnvLookup env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const char* name) -> const char* {
        auto it = vars.find(name);
        return it == vars.end() ? nullptr : it->second.c_str();
    };
}

}  // namespace

TEST_CASE("s3 credentials from the config: key id and an owner-only secret file", "[s3]") {
    ScratchDir dir;
    dir.write("secret", "s3cr3t/+x \n\nignored\n");
    ::chmod((dir / "secret").c_str(), 0600);
    Destination d = s3_destination();
    d.access_key_id = "AKIA1";
    d.secret_access_key_file = dir / "secret";
    S3Credentials c = s3_credentials(d, env_of({{"AWS_ACCESS_KEY_ID", "env"},
                                                {"AWS_SECRET_ACCESS_KEY", "env"},
                                                {"AWS_SESSION_TOKEN", "tok"}}));
    CHECK(c.access_key_id == "AKIA1");
    CHECK(c.secret_access_key == "s3cr3t/+x");
    CHECK(c.session_token.empty());  // a token belongs to the environment's key pair only
    ::chmod((dir / "secret").c_str(), 0400);
    CHECK(s3_credentials(d, env_of({})).secret_access_key == "s3cr3t/+x");
}

TEST_CASE("s3 credentials from the environment with a session token", "[s3]") {
    S3Credentials c = s3_credentials(s3_destination(), env_of({{"AWS_ACCESS_KEY_ID", "AK"},
                                                               {"AWS_SECRET_ACCESS_KEY", "SK"},
                                                               {"AWS_SESSION_TOKEN", "TOK"}}));
    CHECK(c.access_key_id == "AK");
    CHECK(c.secret_access_key == "SK");
    CHECK(c.session_token == "TOK");
}

TEST_CASE("s3 a secret file group or others may read is refused", "[s3]") {
    ScratchDir dir;
    dir.write("secret", "s3cr3t\n");
    Destination d = s3_destination();
    d.access_key_id = "AKIA1";
    d.secret_access_key_file = dir / "secret";
    for (mode_t mode : {0640, 0604, 0620, 0660, 0644, 0601}) {
        ::chmod((dir / "secret").c_str(), mode);
        INFO("mode " << std::oct << mode);
        std::string message =
            error_message(ErrorCode::kConfig, [&] { s3_credentials(d, env_of({})); });
        CHECK_THAT(message, Catch::Contains("destination \"rgw\""));
        CHECK_THAT(message, Catch::Contains(dir / "secret"));
        CHECK_THAT(message, Catch::Contains("group or others"));
        CHECK_THAT(message, Catch::Contains("chmod 600"));
        CHECK(message.find('\n') == std::string::npos);
    }
}

TEST_CASE("s3 missing or unusable credentials are config errors", "[s3]") {
    ScratchDir dir;
    Destination d = s3_destination();
    CHECK_THAT(error_message(ErrorCode::kConfig, [&] { s3_credentials(d, env_of({})); }),
               Catch::Contains("no access key"));
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [&] {
                                 s3_credentials(d, env_of({{"AWS_ACCESS_KEY_ID", "AK"}}));
                             }),
               Catch::Contains("no secret key"));
    d.access_key_id = "AK";
    d.secret_access_key_file = dir / "absent";
    CHECK_THAT(error_message(ErrorCode::kConfig, [&] { s3_credentials(d, env_of({})); }),
               Catch::Contains("cannot open secret_access_key_file"));
    dir.write("empty", "\n");
    ::chmod((dir / "empty").c_str(), 0600);
    d.secret_access_key_file = dir / "empty";
    CHECK_THAT(error_message(ErrorCode::kConfig, [&] { s3_credentials(d, env_of({})); }),
               Catch::Contains("is empty"));
    d.secret_access_key_file = dir.path();
    CHECK(!error_message(ErrorCode::kConfig, [&] { s3_credentials(d, env_of({})); }).empty());
}
