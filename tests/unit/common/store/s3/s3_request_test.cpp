#include "store/s3/s3_request.h"

#include <openssl/evp.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "archive/sha256.h"
#include "base/error.h"
#include "expect_error.h"
#include "store/location.h"

using namespace walferry;

namespace {

Destination s3_destination(std::string url, std::string endpoint, std::string style = "") {
    Destination d;
    d.location = parse_location(url, "/");
    d.name = "s3";
    d.endpoint = std::move(endpoint);
    d.uri_style = std::move(style);
    return d;
}

S3Target rgw() {
    return s3_target(s3_destination("s3://pg-archive/cluster1", "https://127.0.0.1:7480", "path"));
}

bool has_header(const S3Request& r, const std::string& line) {
    return std::find(r.headers.begin(), r.headers.end(), line) != r.headers.end();
}

}  // namespace

TEST_CASE("s3 target: endpoint and prefix from the destination", "[s3]") {
    S3Target t = rgw();
    CHECK(t.scheme == "https");
    CHECK(t.host == "127.0.0.1:7480");
    CHECK(t.bucket == "pg-archive");
    CHECK(t.prefix == "cluster1/");
    CHECK(t.key("walferry.info") == "cluster1/walferry.info");
    CHECK_FALSE(t.virtual_style);
    CHECK(t.endpoint() == "https://127.0.0.1:7480");
    // No prefix: keys at the bucket's root.
    CHECK(s3_target(s3_destination("s3://pg-archive", "https://h/")).key("x") == "x");
}

TEST_CASE("s3 target: AWS's endpoint and virtual-hosted style by default", "[s3]") {
    Destination d = s3_destination("s3://pg-archive/c1", "");
    d.region = "eu-west-1";
    S3Target t = s3_target(d);
    CHECK(t.host == "s3.eu-west-1.amazonaws.com");
    CHECK(t.virtual_style);
    // An endpoint given: path style unless asked.
    CHECK_FALSE(s3_target(s3_destination("s3://b12/c", "https://minio:9000")).virtual_style);
    CHECK(s3_target(s3_destination("s3://b12/c", "https://minio:9000", "virtual")).virtual_style);
}

TEST_CASE("s3 target: a bad endpoint or uri_style is a config error", "[s3]") {
    using test_errors::error_message;
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [] { s3_target(s3_destination("s3://bbb/c", "ftp://h")); }),
               Catch::Contains("https://"));
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [] { s3_target(s3_destination("s3://bbb/c", "127.0.0.1:7480")); }),
               Catch::Contains("https://"));
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [] { s3_target(s3_destination("s3://bbb/c", "https://h/path")); }),
               Catch::Contains("no path"));
    CHECK_THAT(error_message(ErrorCode::kConfig,
                             [] { s3_target(s3_destination("s3://bbb/c", "https://h", "vhost")); }),
               Catch::Contains("uri_style"));
}

TEST_CASE("s3 keys are percent-encoded as SigV4 signs them", "[s3]") {
    CHECK(s3_uri_encode("AZaz09-._~", false) == "AZaz09-._~");
    CHECK(s3_uri_encode("a b+c/d=e&f", true) == "a%20b%2Bc/d%3De%26f");
    CHECK(s3_uri_encode("a/b", false) == "a%2Fb");
    CHECK(s3_uri_encode("\xc3\xa9*", false) == "%C3%A9%2A");
}

TEST_CASE("s3 URLs in path and virtual-hosted style", "[s3]") {
    S3Target t = rgw();
    CHECK(s3_url(t, "cluster1/000000010000000000000001.zst") ==
          "https://127.0.0.1:7480/pg-archive/cluster1/000000010000000000000001.zst");
    CHECK(s3_url(t, "") == "https://127.0.0.1:7480/pg-archive");
    t.virtual_style = true;
    CHECK(s3_url(t, "cluster1/a b") == "https://pg-archive.127.0.0.1:7480/cluster1/a%20b");
    CHECK(s3_url(t, "") == "https://pg-archive.127.0.0.1:7480/");
}

TEST_CASE("s3 query parameters are sorted and encoded with empty values written", "[s3]") {
    S3Target t = rgw();
    CHECK(s3_url(t, "", {{"prefix", "c 1/"}, {"list-type", "2"}, {"delimiter", "/"}}) ==
          "https://127.0.0.1:7480/pg-archive?delimiter=%2F&list-type=2&prefix=c%201%2F");
    CHECK(s3_url(t, "", {{"delete", ""}}) == "https://127.0.0.1:7480/pg-archive?delete=");
}

TEST_CASE("s3 PUT: create-only with the payload hash and walferry's metadata", "[s3]") {
    const std::string sha(64, 'a');
    S3Request r = put_object_request(rgw(), "cluster1/x.zst", sha, 42, true,
                                     {{"name", "x"}, {"sha256", std::string(64, 'b')}});
    CHECK(r.method == "PUT");
    CHECK(r.url == "https://127.0.0.1:7480/pg-archive/cluster1/x.zst");
    CHECK(r.key == "cluster1/x.zst");
    CHECK(r.upload_size == 42);
    CHECK(has_header(r, "x-amz-content-sha256: " + sha));
    CHECK(has_header(r, "If-None-Match: *"));
    CHECK(has_header(r, "x-amz-meta-walferry-name: x"));
    CHECK(has_header(r, "x-amz-meta-walferry-sha256: " + std::string(64, 'b')));
    S3Request replace = put_object_request(rgw(), "k", sha, 1, false, {});
    CHECK_FALSE(has_header(replace, "If-None-Match: *"));
}

TEST_CASE("s3 requests without a body sign the empty payload hash", "[s3]") {
    const std::string empty = "x-amz-content-sha256: " + std::string(kEmptySha256);
    CHECK(to_hex(sha256({})) == kEmptySha256);
    for (const S3Request& r : {head_object_request(rgw(), "k"), get_object_request(rgw(), "k"),
                               delete_object_request(rgw(), "k"), head_bucket_request(rgw()),
                               list_objects_request(rgw(), "cluster1/", "")}) {
        INFO(r.method << " " << r.url);
        CHECK(has_header(r, empty));
    }
    CHECK(head_object_request(rgw(), "k").method == "HEAD");
    CHECK(delete_object_request(rgw(), "k").method == "DELETE");
    CHECK(has_header(get_object_request(rgw(), "k", 1024), "Range: bytes=0-1023"));
    S3Request whole = get_object_request(rgw(), "k");
    CHECK(std::none_of(whole.headers.begin(), whole.headers.end(),
                       [](const std::string& h) { return h.starts_with("Range"); }));
}

TEST_CASE("s3 ListObjectsV2: prefix delimiter and an opaque continuation token", "[s3]") {
    S3Request first = list_objects_request(rgw(), "cluster1/", "");
    CHECK(first.url ==
          "https://127.0.0.1:7480/pg-archive?delimiter=%2F&list-type=2&prefix=cluster1%2F");
    S3Request next = list_objects_request(rgw(), "cluster1/", "1/abc+=/x");
    CHECK(next.url ==
          "https://127.0.0.1:7480/pg-archive?continuation-token=1%2Fabc%2B%3D%2Fx&delimiter=%2F&"
          "list-type=2&prefix=cluster1%2F");
    CHECK(list_objects_request(rgw(), "c/", "", false).url ==
          "https://127.0.0.1:7480/pg-archive?list-type=2&prefix=c%2F");
}

TEST_CASE("s3 DeleteObjects: quiet XML body with Content-MD5 and its SHA-256", "[s3]") {
    const std::vector<std::string> keys = {"cluster1/a.zst", "cluster1/b&<c>.zst"};
    S3Request r = delete_objects_request(rgw(), keys);
    CHECK(r.method == "POST");
    CHECK(r.url == "https://127.0.0.1:7480/pg-archive?delete=");
    CHECK(r.body ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete><Quiet>true</Quiet>"
          "<Object><Key>cluster1/a.zst</Key></Object>"
          "<Object><Key>cluster1/b&amp;&lt;c&gt;.zst</Key></Object></Delete>\n");
    // Content-MD5: base64 of the body's MD5, computed here independently.
    unsigned char md5[16];
    unsigned int n = 0;
    EVP_Digest(r.body.data(), r.body.size(), md5, &n, EVP_md5(), nullptr);
    unsigned char b64[32] = {};
    EVP_EncodeBlock(b64, md5, 16);
    CHECK(has_header(r, "Content-MD5: " + std::string(reinterpret_cast<char*>(b64))));
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(r.body.data());
    CHECK(has_header(r, "x-amz-content-sha256: " + to_hex(sha256({bytes, r.body.size()}))));
}

TEST_CASE("s3 DeleteObjects takes 1 to 1000 keys", "[s3]") {
    std::vector<std::string> keys(kMaxDeleteKeys, "k");
    CHECK(delete_objects_request(rgw(), keys).body.size() > 1000);
    keys.push_back("k");
    test_errors::error_message(ErrorCode::kInternal, [&] { delete_objects_request(rgw(), keys); });
    test_errors::error_message(ErrorCode::kInternal, [&] { delete_objects_request(rgw(), {}); });
}

TEST_CASE("s3 temporary credentials add x-amz-security-token", "[s3]") {
    S3Request r = head_object_request(rgw(), "k");
    add_session_token(r, "");
    CHECK(r.headers.size() == 1);
    add_session_token(r, "tok");
    CHECK(has_header(r, "x-amz-security-token: tok"));
}
