// What S3 answers, read without I/O: which failures are worth a retry (and how long to wait),
// the one-line error, and the few XML documents walferry reads (Error, ListObjectsV2's result,
// DeleteObjects' errors). The XML is S3's fixed, flat format: elements are found by name, text
// unescaped; anything unexpected (a truncated or non-XML page) is an error, never an empty list.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walferry {

struct S3Response {
    long status = 0;        // HTTP status; 0 when no answer came (transport error)
    int curl_code = 0;      // CURLcode of the transfer; 0 (CURLE_OK) when an answer came
    std::string curl_text;  // libcurl's error text for curl_code
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;       // the body when not streamed to a sink (errors always land here)
    bool streamed = false;  // some body bytes already went to the caller's sink

    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// The S3 error code of an error body (<Error><Code>AccessDenied</Code>...), "" if none.
std::string s3_error_code(std::string_view body);

// Worth another try: 408, 429, 500, 502, 503, 504, an error code SlowDown (whatever the status),
// and transport failures but those that another try cannot mend (TLS verification, a bad URL,
// a CA file that cannot be read). Never 400, 403, 404, 412 or anything else.
bool s3_retryable(const S3Response& response);

// Full jitter: a delay drawn uniformly from [0, min(cap, base * 2^attempt)] with `random`
// (any 64-bit value); attempt 0 is the wait before the first retry.
std::chrono::milliseconds s3_backoff(
    int attempt, std::uint64_t random,
    std::chrono::milliseconds base = std::chrono::milliseconds(100),
    std::chrono::milliseconds cap = std::chrono::seconds(10));

// "<what>: s3 endpoint https://h:7480, bucket b, key k: HTTP 403 AccessDenied (Access Denied)"
// or, without an answer, "...: cannot connect: <curl text>". One line, untrusted text escaped.
std::string s3_error_text(std::string_view what, std::string_view endpoint, std::string_view bucket,
                          std::string_view key, const S3Response& response);

// True for the errors that mean the credentials are not accepted (403 with AccessDenied,
// InvalidAccessKeyId, SignatureDoesNotMatch, ...): a config to fix, never "not found".
bool s3_auth_failure(const S3Response& response);

struct S3ListPage {
    std::vector<std::string> keys;     // <Contents><Key>, unescaped
    std::vector<std::uint64_t> sizes;  // <Size> of each key
    std::vector<std::int64_t> mtimes;  // <LastModified> of each key, unix time (0 if unreadable)
    bool truncated = false;
    std::string next_token;  // NextContinuationToken when truncated
};

// ListObjectsV2's result. Throws Error(kIo) for a body that is not one (naming why).
S3ListPage parse_list_page(std::string_view body);

struct S3DeleteError {
    std::string key;
    std::string code;
    std::string message;
};

// The <Error> entries of a DeleteObjects result (quiet mode lists only failures). Throws
// Error(kIo) for a body that is not a DeleteResult.
std::vector<S3DeleteError> parse_delete_errors(std::string_view body);

// "2026-12-02T04:20:33.000Z" (ISO 8601, UTC, as S3 lists it) -> unix time; 0 if unreadable.
std::int64_t s3_iso_time(std::string_view text);

// XML text content unescaped: the five named entities and &#N; / &#xN; (ASCII); nullopt for a
// malformed or unknown entity.
std::optional<std::string> xml_unescape(std::string_view text);

}  // namespace walferry
