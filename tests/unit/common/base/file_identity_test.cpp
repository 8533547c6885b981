// FileIdentity: what a later process compares to trust bytes an earlier one checked.
#include "base/file_identity.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "scratch_dir.h"

using namespace walferry;
namespace fs = std::filesystem;

TEST_CASE("a file identity round-trips through its text form", "[identity]") {
    FileIdentity id{2049, 123456789, 16u << 20, 1795400000123456789, -5};
    CHECK(format_identity(id) == "2049:123456789:16777216:1795400000123456789:-5");
    CHECK(parse_identity(format_identity(id)) == id);
    CHECK(parse_identity("0:0:0:0:0") == FileIdentity{});
}

TEST_CASE("anything else is not an identity", "[identity]") {
    for (const char* bad : {"", "1:2:3:4", "1:2:3:4:5:6", "1:2:3:4:", ":2:3:4:5", "1:2:x:4:5",
                            "1:2:3:4:5\n", " 1:2:3:4:5", "-1:2:3:4:5", "1:2:3:4:5.0",
                            "1:2:3:4:99999999999999999999", "18446744073709551616:2:3:4:5"}) {
        INFO(bad);
        CHECK_FALSE(parse_identity(bad));
    }
}

TEST_CASE("a file's identity changes with a write, a rewrite or a replacement", "[identity]") {
    ScratchDir scratch;
    const std::string path = scratch / "f";
    CHECK_FALSE(identity_of(path));  // no file
    scratch.write("f", "abc");
    const auto first = identity_of(path);
    REQUIRE(first);
    CHECK(first->size == 3);
    CHECK(identity_of(path) == first);  // reading or stat()ing changes nothing
    { std::ifstream(path).get(); }
    CHECK(identity_of(path) == first);
    // The same bytes written again in place: same inode and size, a new ctime (past the
    // timestamp granularity of kernels without fine-grained timestamps).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    { std::ofstream(path, std::ios::in | std::ios::out) << "abc"; }
    const auto rewritten = identity_of(path);
    CHECK(rewritten != first);
    CHECK(rewritten->ino == first->ino);
    // Replaced by a copy: another inode.
    fs::copy_file(path, scratch / "g");
    fs::rename(scratch / "g", path);
    CHECK(identity_of(path)->ino != first->ino);
}
