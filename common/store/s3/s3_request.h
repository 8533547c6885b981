// S3 requests as data: the URL (path or virtual-hosted style, keys and query encoded the way
// SigV4 signs them), the method and the headers. No I/O: curl_transport.h sends them, libcurl
// signs them (CURLOPT_AWS_SIGV4). Kept apart so that every byte of a request is unit-tested.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/destination.h"
#include "store/s3/s3_target.h"

namespace walferry {

struct S3Request {
    std::string method;  // GET, HEAD, PUT, POST, DELETE
    std::string url;
    std::vector<std::string> headers;  // "Name: value", all signed
    std::string key;                   // the object key, for messages ("" for the bucket)
    std::string body;                  // a small body held here (DeleteObjects); else streamed
    std::uint64_t upload_size = 0;     // PUT: the streamed body's size (Content-Length)
};

// RFC 3986 percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ encoded, in
// upper-case hex; '/' kept when `keep_slash` (object keys in the path).
std::string s3_uri_encode(std::string_view text, bool keep_slash);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// The URL of `key` ("" for the bucket itself) with `query` sorted by name and encoded, each
// written "name=value" (also with an empty value: "?delete=", as SigV4 signs it).
std::string s3_url(const S3Target& target, std::string_view key, QueryParams query = {});

// 64 lower-case hex digits of the SHA-256 of nothing: the payload hash of a request without body.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// x-amz-meta-walferry-* headers: what the container's metadata frame says, for tools that look
// at an object with HEAD. Values are ASCII (names are WAL names, the rest numbers and hex).
using ObjectMetadata = QueryParams;

// PUT of an object whose body (`size` bytes, SHA-256 `sha256_hex`) the transport streams.
// `create_only`: If-None-Match: * (the store answers 412 if the key exists).
S3Request put_object_request(const S3Target& target, std::string_view key,
                             std::string_view sha256_hex, std::uint64_t size, bool create_only,
                             const ObjectMetadata& metadata);
S3Request head_object_request(const S3Target& target, std::string_view key);
// `range_bytes` > 0: only the first range_bytes bytes (Range: bytes=0-N).
S3Request get_object_request(const S3Target& target, std::string_view key,
                             std::uint64_t range_bytes = 0);
S3Request delete_object_request(const S3Target& target, std::string_view key);
S3Request head_bucket_request(const S3Target& target);
// ListObjectsV2 of the keys starting with `prefix` (with `flat`: not below a further '/', the
// delimiter), from `continuation` (opaque, as the last page gave it; "" for the first page).
S3Request list_objects_request(const S3Target& target, std::string_view prefix,
                               std::string_view continuation, bool flat = true);

// At most this many keys in one DeleteObjects request (S3's limit).
inline constexpr std::size_t kMaxDeleteKeys = 1000;
// DeleteObjects (POST ?delete=) of `keys` (1..kMaxDeleteKeys) in quiet mode: the XML body, its
// Content-MD5 (AWS requires it) and SHA-256.
S3Request delete_objects_request(const S3Target& target, std::span<const std::string> keys);

// Text for XML element content: & < > " ' escaped.
std::string xml_escape(std::string_view text);

// x-amz-security-token for temporary credentials; nothing when `token` is empty.
void add_session_token(S3Request& request, std::string_view token);

}  // namespace walferry
