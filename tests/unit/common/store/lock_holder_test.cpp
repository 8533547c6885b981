// The holder of an SFTP or S3 cleanup lock, as a waiting cleanup names it.
#include "store/lock_holder.h"

#include <catch2/catch.hpp>
#include <string>

using namespace walferry;

TEST_CASE("cleanup lock holder: in one line", "[lock_holder]") {
    CHECK(describe_lock_holder("host=db2\npid=4711\ntime=0\n") ==
          "host db2, pid 4711, since 1970-01-01 00:00:00 UTC");
    CHECK(describe_lock_holder("pid=1\nhost=a\n") == "host a, pid 1");
    CHECK(describe_lock_holder("") == "an unknown holder");
    CHECK(describe_lock_holder("garbage\n\x01") == "an unknown holder");
    const std::string odd =
        describe_lock_holder("host=a\nb\x01\npid=99999999999999999999999\ntime=x");
    CHECK(odd.find('\n') == std::string::npos);
    CHECK(odd.find('\x01') == std::string::npos);
}
