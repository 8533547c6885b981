#include "store/s3/s3_request.h"

#include <openssl/evp.h>

#include <algorithm>

#include "archive/sha256.h"
#include "base/error.h"
#include "base/escape.h"

namespace walferry {

namespace {

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

std::string base64(std::span<const std::uint8_t> bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string md5_base64(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr) != 1) {
        throw Error(ErrorCode::kInternal, "EVP_Digest(md5) failed");
    }
    return base64(std::span<const std::uint8_t>(digest, size));
}

S3Request request(std::string method, const S3Target& target, std::string_view key,
                  QueryParams query = {}) {
    S3Request r;
    r.method = std::move(method);
    r.url = s3_url(target, key, std::move(query));
    r.key = std::string(key);
    return r;
}

}  // namespace

std::string s3_uri_encode(std::string_view text, bool keep_slash) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (unreserved(c) || (keep_slash && c == '/')) {
            out += c;
            continue;
        }
        const auto byte = static_cast<unsigned char>(c);
        out += '%';
        out += kHex[byte >> 4];
        out += kHex[byte & 0xf];
    }
    return out;
}

std::string s3_url(const S3Target& target, std::string_view key, QueryParams query) {
    std::string url = target.scheme + "://";
    if (target.virtual_style) {
        url += target.bucket + "." + target.host + "/";
    } else {
        url += target.host + "/" + target.bucket + (key.empty() ? "" : "/");
    }
    url += s3_uri_encode(key, true);
    std::sort(query.begin(), query.end());
    char sep = '?';
    for (const auto& [name, value] : query) {
        url += sep;
        url += s3_uri_encode(name, false) + "=" + s3_uri_encode(value, false);
        sep = '&';
    }
    return url;
}

S3Request put_object_request(const S3Target& target, std::string_view key,
                             std::string_view sha256_hex, std::uint64_t size, bool create_only,
                             const ObjectMetadata& metadata) {
    S3Request r = request("PUT", target, key);
    r.headers.push_back("x-amz-content-sha256: " + std::string(sha256_hex));
    r.upload_size = size;
    r.headers.emplace_back("Content-Type: application/octet-stream");
    if (create_only) r.headers.emplace_back("If-None-Match: *");
    for (const auto& [name, value] : metadata) {
        r.headers.push_back("x-amz-meta-walferry-" + name + ": " + value);
    }
    return r;
}

S3Request head_object_request(const S3Target& target, std::string_view key) {
    S3Request r = request("HEAD", target, key);
    r.headers.push_back("x-amz-content-sha256: " + std::string(kEmptySha256));
    return r;
}

S3Request get_object_request(const S3Target& target, std::string_view key,
                             std::uint64_t range_bytes) {
    S3Request r = request("GET", target, key);
    r.headers.push_back("x-amz-content-sha256: " + std::string(kEmptySha256));
    if (range_bytes > 0) r.headers.push_back("Range: bytes=0-" + std::to_string(range_bytes - 1));
    return r;
}

S3Request delete_object_request(const S3Target& target, std::string_view key) {
    S3Request r = request("DELETE", target, key);
    r.headers.push_back("x-amz-content-sha256: " + std::string(kEmptySha256));
    return r;
}

S3Request head_bucket_request(const S3Target& target) {
    S3Request r = request("HEAD", target, "");
    r.headers.push_back("x-amz-content-sha256: " + std::string(kEmptySha256));
    return r;
}

S3Request list_objects_request(const S3Target& target, std::string_view prefix,
                               std::string_view continuation, bool flat) {
    QueryParams query = {{"list-type", "2"}, {"prefix", std::string(prefix)}};
    if (flat) query.emplace_back("delimiter", "/");
    if (!continuation.empty()) query.emplace_back("continuation-token", continuation);
    S3Request r = request("GET", target, "", std::move(query));
    r.headers.push_back("x-amz-content-sha256: " + std::string(kEmptySha256));
    return r;
}

S3Request delete_objects_request(const S3Target& target, std::span<const std::string> keys) {
    if (keys.empty() || keys.size() > kMaxDeleteKeys) {
        throw Error(ErrorCode::kInternal,
                    "DeleteObjects of " + std::to_string(keys.size()) + " keys");
    }
    S3Request r = request("POST", target, "", {{"delete", ""}});
    r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Delete><Quiet>true</Quiet>";
    for (const std::string& key : keys)
        r.body += "<Object><Key>" + xml_escape(key) + "</Key></Object>";
    r.body += "</Delete>\n";
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(r.body.data());
    r.headers.push_back("x-amz-content-sha256: " +
                        to_hex(sha256(std::span<const std::uint8_t>(bytes, r.body.size()))));
    r.headers.push_back("Content-MD5: " + md5_base64(r.body));
    r.headers.emplace_back("Content-Type: application/xml");
    return r;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

void add_session_token(S3Request& request, std::string_view token) {
    if (!token.empty()) request.headers.push_back("x-amz-security-token: " + std::string(token));
}

}  // namespace walferry
