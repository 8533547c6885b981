// The pure parts of the sftp:// backend: known_hosts names, lines and fingerprints, temp names,
// SFTP status texts, shell quoting. The network parts are tested against a real sshd in
// tests/e2e/sftp_store_test.sh.
#include "store/sftp/sftp_store.h"

#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cli/config.h"
#include "cli/open_store.h"
#include "expect_error.h"
#include "store/file_store.h"
#include "store/sftp/known_hosts.h"
#include "store/sftp/ssh_session.h"

using namespace walferry;

namespace {

std::vector<std::uint8_t> bytes(std::string_view text) {
    return {text.begin(), text.end()};
}

// A wire-format key blob: u32 length + type name + `rest`.
std::vector<std::uint8_t> blob(std::string_view type, std::string_view rest) {
    // Joined as a string: GCC 12 at -O3 reports a false -Warray-bounds for vector::insert after
    // a 4-byte initializer list.
    std::string out(3, '\0');
    out += static_cast<char>(type.size());
    out += type;
    out += rest;
    return bytes(out);
}

}  // namespace

TEST_CASE("known_hosts names a host on port 22 plainly, others as [host]:port", "[sftp]") {
    CHECK(known_hosts_name("10.0.0.2", 22) == "10.0.0.2");
    CHECK(known_hosts_name("standby.example", 2222) == "[standby.example]:2222");
    CHECK(known_hosts_name("127.0.0.2", 40022) == "[127.0.0.2]:40022");
}

TEST_CASE("base64 and SHA256 fingerprints are written as OpenSSH writes them", "[sftp]") {
    CHECK(base64_encode(bytes("")) == "");
    CHECK(base64_encode(bytes("f")) == "Zg==");
    CHECK(base64_encode(bytes("fo")) == "Zm8=");
    CHECK(base64_encode(bytes("foo")) == "Zm9v");
    CHECK(base64_encode(bytes("foobar")) == "Zm9vYmFy");
    std::array<std::uint8_t, 32> zero{};
    CHECK(sha256_fingerprint(zero) == "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    std::array<std::uint8_t, 32> ramp{};
    for (std::size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<std::uint8_t>(i * 8);
    std::string fp = sha256_fingerprint(ramp);
    CHECK(fp.size() == 7 + 43);  // 32 bytes: 43 base64 digits, no '='
    CHECK(fp.find('=') == std::string::npos);
    CHECK(fp == "SHA256:AAgQGCAoMDhASFBYYGhweICIkJigqLC4wMjQ2ODo8Pg");
}

TEST_CASE("key type names come from the key blob and malformed blobs give none", "[sftp]") {
    CHECK(key_type_name(blob("ssh-ed25519", "key")) == "ssh-ed25519");
    CHECK(key_type_name(blob("ecdsa-sha2-nistp256", "")) == "ecdsa-sha2-nistp256");
    CHECK(key_type_name({}) == "");
    CHECK(key_type_name(bytes("\0\0\0")) == "");
    CHECK(key_type_name(blob("", "x")) == "");
    std::vector<std::uint8_t> too_long = {0, 0, 0, 40, 's', 's', 'h'};
    CHECK(key_type_name(too_long) == "");
    CHECK(key_type_name(blob("ssh ed25519", "")) == "");  // a space would break the line
    CHECK(key_type_name(blob("ssh\ned25519", "")) == "");
}

TEST_CASE("a known_hosts line for an accepted key", "[sftp]") {
    auto key = blob("ssh-ed25519", "abc");
    CHECK(known_hosts_line("[127.0.0.2]:2222", key) ==
          "[127.0.0.2]:2222 ssh-ed25519 " + base64_encode(key) + "\n");
    CHECK(known_hosts_line("host", bytes("xx")) == "");
}

TEST_CASE("host key algorithms are offered only if libssh2 implements them, in order", "[sftp]") {
    std::vector<std::string> libssh2_1_10 = {"ecdsa-sha2-nistp256", "ssh-ed25519", "ssh-rsa"};
    CHECK(supported_methods("rsa-sha2-512,rsa-sha2-256,ssh-rsa,ssh-ed25519", libssh2_1_10) ==
          "ssh-rsa,ssh-ed25519");
    CHECK(supported_methods("ssh-ed25519,ecdsa-sha2-nistp256", libssh2_1_10) ==
          "ssh-ed25519,ecdsa-sha2-nistp256");
    CHECK(supported_methods("rsa-sha2-512", libssh2_1_10) == "");
    CHECK(supported_methods("", libssh2_1_10) == "");
    CHECK(supported_methods("ssh-ed25519", {}) == "");
}

TEST_CASE("@revoked lines give their key, other lines nothing", "[sftp]") {
    CHECK(revoked_key_of("@revoked * ssh-ed25519 AAAAC3Nz comment") == "AAAAC3Nz");
    CHECK(revoked_key_of("  @revoked\thost1,host2 ssh-rsa AAAAB3") == "AAAAB3");
    CHECK(revoked_key_of("host ssh-ed25519 AAAAC3Nz") == "");
    CHECK(revoked_key_of("@cert-authority * ssh-ed25519 AAAAC3Nz") == "");
    CHECK(revoked_key_of("# @revoked * ssh-ed25519 AAAAC3Nz") == "");
    CHECK(revoked_key_of("") == "");
}

TEST_CASE("temp names share FileStore's prefix, stay within 255 bytes and are recognised",
          "[sftp]") {
    std::string name = "000000010000000000000005.zst";
    std::string temp = sftp_temp_name(name, 0x0123456789abcdefULL);
    CHECK(temp == std::string(kTempPrefix) + name + ".0123456789abcdef");
    CHECK(is_temp_of(temp, name));
    CHECK(is_temp_of(sftp_temp_name(name, 0), name));
    CHECK_FALSE(is_temp_of(temp, "000000010000000000000006.zst"));
    CHECK_FALSE(is_temp_of(sftp_temp_name("000000010000000000000005.partial.zst", 7), name));
    CHECK_FALSE(is_temp_of(temp + "0", name));
    CHECK_FALSE(is_temp_of(temp.substr(0, temp.size() - 1) + "g", name));
    CHECK_FALSE(is_temp_of(name, name));

    std::string longest(255, 'a');
    std::string cut = sftp_temp_name(longest, 42);
    CHECK(cut.size() == 255);
    CHECK(cut.starts_with(kTempPrefix));
    CHECK(is_temp_of(cut, longest));
}

TEST_CASE("SFTP status codes read like errno texts", "[sftp]") {
    CHECK(sftp_status_text(LIBSSH2_FX_NO_SUCH_FILE) == "no such file or directory");
    CHECK(sftp_status_text(LIBSSH2_FX_PERMISSION_DENIED) == "permission denied");
    CHECK(sftp_status_text(LIBSSH2_FX_FAILURE) == "failure");
    CHECK(sftp_status_text(LIBSSH2_FX_OP_UNSUPPORTED) == "operation not supported by the server");
    CHECK(sftp_status_text(LIBSSH2_FX_LINK_LOOP) == "too many levels of symbolic links");
    CHECK(sftp_status_text(99) == "SFTP status 99");
    CHECK(sftp_status_text(-1) == "SFTP status -1");
}

TEST_CASE("shell quoting survives quotes and spaces", "[sftp]") {
    CHECK(shell_quote("/var/lib/pgarchive") == "'/var/lib/pgarchive'");
    CHECK(shell_quote("/a b/it's") == "'/a b/it'\\''s'");
    CHECK(shell_quote("") == "''");
}

TEST_CASE("open_store gives an SftpStore for sftp:// without connecting", "[sftp]") {
    Destination d;
    d.location = parse_location("sftp://postgres@192.0.2.1:2222/var/lib/pgarchive", "/");
    auto store = open_store(d);
    CHECK(store->describe() == "sftp://postgres@192.0.2.1:2222/var/lib/pgarchive");
    // Names are checked before any connection is attempted.
    test_errors::error_message(ErrorCode::kInvalidName, [&] { store->remove("../x"); });
    test_errors::error_message(ErrorCode::kInvalidName, [&] { store->stat(".hidden", 10); });
}

TEST_CASE("sftp destinations read remote_sync and timeouts from the config", "[sftp]") {
    Config c = parse_config(R"(
[[destination]]
url = "sftp://postgres@10.0.0.2/var/lib/pgarchive"
remote_sync = true
connect_timeout = 3
io_timeout = 7
[[destination]]
url = "sftp://postgres@10.0.0.3/var/lib/pgarchive"
)",
                            "test.toml", "/");
    REQUIRE(c.destinations.size() == 2);
    CHECK(c.destinations[0].remote_sync);
    CHECK(c.destinations[0].connect_timeout_s == 3);
    CHECK(c.destinations[0].io_timeout_s == 7);
    CHECK_FALSE(c.destinations[1].remote_sync);
    CHECK(c.destinations[1].connect_timeout_s == 10);
    CHECK(c.destinations[1].io_timeout_s == 30);
    CHECK_THAT(
        test_errors::error_message(
            ErrorCode::kConfig,
            [] { parse_config("[[destination]]\nurl = \"/a\"\nio_timeout = 0\n", "t.toml", "/"); }),
        Catch::Contains("destination.io_timeout"));
}
