#include "store/s3/s3_response.h"

#include <curl/curl.h>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "expect_error.h"

using namespace walferry;

namespace {

S3Response answer(long status, std::string body = "") {
    S3Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

S3Response no_answer(CURLcode code, std::string text = "") {
    S3Response r;
    r.curl_code = static_cast<int>(code);
    r.curl_text = std::move(text);
    return r;
}

std::string error_body(const std::string& code, const std::string& message = "m") {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
           message + "</Message><RequestId>r</RequestId></Error>";
}

}  // namespace

TEST_CASE("s3 retries 408 429 and 5xx but never 400 403 404 412", "[s3]") {
    for (long status : {408L, 429L, 500L, 502L, 503L, 504L}) {
        INFO(status);
        CHECK(s3_retryable(answer(status)));
    }
    for (long status : {200L, 204L, 206L, 301L, 400L, 401L, 403L, 404L, 409L, 412L, 416L, 501L}) {
        INFO(status);
        CHECK_FALSE(s3_retryable(answer(status)));
    }
    // SlowDown is said in the body; RGW and AWS send it with 503, some stores with other codes.
    CHECK(s3_retryable(answer(503, error_body("SlowDown"))));
    CHECK(s3_retryable(answer(400, error_body("SlowDown"))));
    CHECK_FALSE(s3_retryable(answer(403, error_body("AccessDenied"))));
}

TEST_CASE("s3 retries connection errors but not TLS verification failures", "[s3]") {
    for (CURLcode code : {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR,
                          CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_COULDNT_RESOLVE_HOST,
                          CURLE_SSL_CONNECT_ERROR, CURLE_PARTIAL_FILE}) {
        INFO(curl_easy_strerror(code));
        CHECK(s3_retryable(no_answer(code)));
    }
    for (CURLcode code : {CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE,
                          CURLE_URL_MALFORMAT, CURLE_WRITE_ERROR, CURLE_UNSUPPORTED_PROTOCOL}) {
        INFO(curl_easy_strerror(code));
        CHECK_FALSE(s3_retryable(no_answer(code)));
    }
}

TEST_CASE("s3 backoff is full jitter below an exponential ceiling and a cap", "[s3]") {
    using std::chrono::milliseconds;
    const milliseconds base(100), cap(10000);
    for (int attempt = 0; attempt < 40; ++attempt) {
        const std::int64_t ceiling = std::min<std::int64_t>(100LL << std::min(attempt, 20), 10000);
        INFO("attempt " << attempt);
        CHECK(s3_backoff(attempt, 0, base, cap) == milliseconds(0));
        CHECK(s3_backoff(attempt, static_cast<std::uint64_t>(ceiling), base, cap) ==
              milliseconds(ceiling));
        CHECK(s3_backoff(attempt, static_cast<std::uint64_t>(ceiling) + 1, base, cap) ==
              milliseconds(0));
        CHECK(s3_backoff(attempt, ~0ULL, base, cap) <= milliseconds(ceiling));
    }
    CHECK(s3_backoff(0, 77, base, cap) == milliseconds(77));
    CHECK(s3_backoff(3, 799, base, cap) == milliseconds(799));
    CHECK(s3_backoff(3, 801, base, cap) == milliseconds(0));
}

TEST_CASE("s3 error lines name endpoint bucket key status and code", "[s3]") {
    const std::string text =
        s3_error_text("cannot store", "https://127.0.0.1:7480", "pg-archive", "c1/x.zst",
                      answer(403, error_body("SignatureDoesNotMatch", "The request signature")));
    CHECK(text ==
          "cannot store: s3 endpoint https://127.0.0.1:7480, bucket pg-archive, key c1/x.zst: "
          "HTTP 403 SignatureDoesNotMatch (The request signature)");
    CHECK(s3_error_text("cannot stat", "https://h", "b", "k", answer(404)) ==
          "cannot stat: s3 endpoint https://h, bucket b, key k: HTTP 404 (not found)");
    CHECK(s3_error_text("cannot list", "https://h", "b", "",
                        no_answer(CURLE_COULDNT_CONNECT, "Failed to connect to h port 1")) ==
          "cannot list: s3 endpoint https://h, bucket b: Failed to connect to h port 1");
    CHECK_THAT(s3_error_text("x", "https://h", "b", "k", answer(403)),
               Catch::EndsWith("HTTP 403 (access refused: check the access key, the secret and "
                               "the bucket's policy)"));
    CHECK_THAT(s3_error_text("x", "https://h", "b", "k", no_answer(CURLE_OPERATION_TIMEDOUT)),
               Catch::Contains("timed out"));
    // Untrusted text from the server stays on one printable line.
    const std::string hostile = s3_error_text(
        "x", "https://h", "b", "k", answer(400, error_body("Bad\nCode", "line\none\x1b[31m")));
    CHECK(test_errors::printable(hostile));
}

TEST_CASE("s3 refused credentials are told apart from other 403s", "[s3]") {
    for (const char* code : {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                             "ExpiredToken", "RequestTimeTooSkewed"}) {
        INFO(code);
        CHECK(s3_auth_failure(answer(403, error_body(code))));
    }
    CHECK(s3_auth_failure(answer(403)));  // HEAD: no body
    CHECK_FALSE(s3_auth_failure(answer(404, error_body("NoSuchBucket"))));
    CHECK_FALSE(s3_auth_failure(answer(403, error_body("QuotaExceeded"))));
    CHECK(s3_error_code(error_body("NoSuchKey")) == "NoSuchKey");
    CHECK(s3_error_code("<html>busy</html>").empty());
}

TEST_CASE("s3 ListObjectsV2 pages: keys unescaped and the continuation token", "[s3]") {
    const std::string page1 =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>c1/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>"
        "<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
        "<Contents><Key>c1/000000010000000000000001.zst</Key>"
        "<LastModified>2026-12-02T04:20:33.000Z</LastModified>"
        "<ETag>&quot;e&quot;</ETag><Size>5</Size></Contents>"
        "<Contents><Key>c1/a&amp;b&#x41;&#66;</Key><Size>1</Size></Contents>"
        "<CommonPrefixes><Prefix>c1/.walferry-cleanup/</Prefix></CommonPrefixes>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</"
        "NextContinuationToken></ListBucketResult>";
    S3ListPage p = parse_list_page(page1);
    CHECK(p.keys == std::vector<std::string>{"c1/000000010000000000000001.zst", "c1/a&bAB"});
    CHECK(p.sizes == std::vector<std::uint64_t>{5, 1});
    CHECK(p.mtimes == std::vector<std::int64_t>{1796185233, 0});
    CHECK(p.truncated);
    CHECK(p.next_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    const std::string last =
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>c1/z</Key><Size>0</Size>"
        "</Contents>"
        "</ListBucketResult>";
    S3ListPage q = parse_list_page(last);
    CHECK(q.keys == std::vector<std::string>{"c1/z"});
    CHECK_FALSE(q.truncated);
    CHECK(parse_list_page("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
              .keys.empty());
}

TEST_CASE("s3 a damaged listing is an error never an empty archive", "[s3]") {
    using test_errors::error_message;
    auto bad = [](const std::string& body) {
        return error_message(ErrorCode::kIo, [&] { parse_list_page(body); });
    };
    CHECK_THAT(bad(""), Catch::Contains("not a ListBucketResult"));
    CHECK_THAT(bad("<html>proxy error</html>"), Catch::Contains("not a ListBucketResult"));
    // Cut off in the middle of the page.
    CHECK_THAT(bad("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>a</Key>"),
               Catch::Contains("not a ListBucketResult"));
    CHECK_THAT(bad("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
               Catch::Contains("NextContinuationToken"));
    CHECK_THAT(bad("<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>"),
               Catch::Contains("IsTruncated"));
    CHECK_THAT(bad("<ListBucketResult><Contents><Key>a&bogus;</Key></Contents>"
                   "</ListBucketResult>"),
               Catch::Contains("Key"));
    CHECK_THAT(bad("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
                   "</ListBucketResult>"),
               Catch::Contains("Size"));
}

TEST_CASE("s3 listing times are read as UTC", "[s3]") {
    CHECK(s3_iso_time("1970-01-01T00:00:00.000Z") == 0);
    CHECK(s3_iso_time("2026-12-02T04:20:33.000Z") == 1796185233);
    CHECK(s3_iso_time("2026-12-02T04:20:33Z") == 1796185233);
    CHECK(s3_iso_time("yesterday") == 0);
    CHECK(s3_iso_time("") == 0);
}

TEST_CASE("s3 DeleteObjects result: the keys it refused", "[s3]") {
    CHECK(parse_delete_errors("<DeleteResult xmlns=\"x\"></DeleteResult>").empty());
    std::vector<S3DeleteError> e = parse_delete_errors(
        "<DeleteResult><Error><Key>c1/a</Key><Code>AccessDenied</Code><Message>no</Message>"
        "</Error></DeleteResult>");
    REQUIRE(e.size() == 1);
    CHECK(e[0].key == "c1/a");
    CHECK(e[0].code == "AccessDenied");
    CHECK(e[0].message == "no");
    test_errors::error_message(ErrorCode::kIo, [] { parse_delete_errors(""); });
}

TEST_CASE("s3 XML text unescaping", "[s3]") {
    CHECK(xml_unescape("a&lt;b&gt;&amp;&quot;&apos;&#65;&#x42;") == "a<b>&\"'AB");
    CHECK_FALSE(xml_unescape("a&b"));
    CHECK_FALSE(xml_unescape("&#xZZ;"));
    CHECK_FALSE(xml_unescape("&#0;"));
    CHECK_FALSE(xml_unescape("&#233;"));  // beyond ASCII: refused, not guessed
}
