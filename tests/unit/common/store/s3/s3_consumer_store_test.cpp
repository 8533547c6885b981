// The S3 cleanup lock's rules that need no server (the lock itself runs against RGW in e2e).
#include "store/s3/s3_consumer_store.h"

#include <catch2/catch.hpp>

using namespace walferry;

TEST_CASE("s3 lock generations are fixed-width names that sort by number", "[cleanup][s3]") {
    CHECK(s3_lock_name(1) == "s3-lock.00000000000000000001");
    CHECK(s3_lock_name(42) == "s3-lock.00000000000000000042");
    CHECK(s3_lock_name(9) < s3_lock_name(10));
    CHECK(s3_lock_generation(s3_lock_name(42)) == 42);
    CHECK(s3_lock_generation(s3_lock_name(18446744073709551615ULL)) == 18446744073709551615ULL);
    CHECK(s3_lock_generation("s3-lock.42") == 0);
    CHECK(s3_lock_generation("s3-lock.0000000000000000004x") == 0);
    CHECK(s3_lock_generation("sftp-lock") == 0);
}

TEST_CASE("s3 lock state: only an explicit free is free", "[cleanup][s3]") {
    S3LockState held = parse_s3_lock("state=held\nhost=db2\npid=4711\ntime=0\n");
    CHECK(held.held);
    CHECK_THAT(held.holder, Catch::StartsWith("host db2, pid 4711"));
    CHECK_FALSE(parse_s3_lock("state=free\nhost=db2\npid=1\n").held);
    CHECK(parse_s3_lock("").held);
    CHECK(parse_s3_lock("garbage").held);
}

TEST_CASE("s3 lock expiry is judged on the store's clock", "[cleanup][s3]") {
    const std::int64_t t = 1'700'000'000;
    CHECK_FALSE(s3_lock_expired(t, t));
    CHECK_FALSE(s3_lock_expired(t, t + kS3LockTtlSeconds));
    CHECK(s3_lock_expired(t, t + kS3LockTtlSeconds + 1));
    // Dates the store did not send never make a lock expire.
    CHECK_FALSE(s3_lock_expired(0, t));
    CHECK_FALSE(s3_lock_expired(t, 0));
    CHECK(kS3LockMarginSeconds < kS3LockTtlSeconds);
}
