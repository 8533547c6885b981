#include "store/s3/s3_response.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "base/error.h"
#include "base/escape.h"

namespace walferry {

namespace {

constexpr std::size_t kShownText = 200;

// The content of every <tag>...</tag> in `doc`, in order (S3's documents never nest an element
// in one of the same name).
std::vector<std::string_view> elements(std::string_view doc, std::string_view tag) {
    const std::string open = "<" + std::string(tag) + ">";
    const std::string close = "</" + std::string(tag) + ">";
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    for (;;) {
        std::size_t start = doc.find(open, pos);
        if (start == std::string_view::npos) return out;
        start += open.size();
        std::size_t end = doc.find(close, start);
        if (end == std::string_view::npos) return out;  // truncated: the caller checks the root
        out.push_back(doc.substr(start, end - start));
        pos = end + close.size();
    }
}

std::optional<std::string> first_text(std::string_view doc, std::string_view tag) {
    std::vector<std::string_view> found = elements(doc, tag);
    if (found.empty()) return std::nullopt;
    return xml_unescape(found.front());
}

// The document's root element is `root` and it is complete.
bool has_root(std::string_view doc, std::string_view root) {
    const std::string open = "<" + std::string(root);
    const std::string close = "</" + std::string(root) + ">";
    std::size_t start = doc.find(open);
    if (start == std::string_view::npos) return false;
    const char after = start + open.size() < doc.size() ? doc[start + open.size()] : '\0';
    return (after == '>' || after == ' ' || after == '\n' || after == '\r' || after == '\t') &&
           doc.find(close, start) != std::string_view::npos;
}

[[noreturn]] void bad_document(std::string_view what, std::string_view why) {
    throw Error(ErrorCode::kIo,
                "unreadable " + std::string(what) + " from S3: " + std::string(why));
}

}  // namespace

namespace {

// "#65" or "#x41" -> 'A'. Keys walferry writes are ASCII; a character beyond it (UTF-8 to
// encode) is refused rather than guessed.
std::optional<char> numeric_entity(std::string_view entity) {
    const bool hex = entity.size() > 1 && entity[1] == 'x';
    std::string_view digits = entity.substr(hex ? 2 : 1);
    unsigned code = 0;
    auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), code, hex ? 16 : 10);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        return std::nullopt;
    }
    if (code == 0 || code > 0x7f) return std::nullopt;
    return static_cast<char>(code);
}

std::optional<char> entity_char(std::string_view entity) {
    if (entity == "amp") return '&';
    if (entity == "lt") return '<';
    if (entity == "gt") return '>';
    if (entity == "quot") return '"';
    if (entity == "apos") return '\'';
    if (entity.size() > 1 && entity[0] == '#') return numeric_entity(entity);
    return std::nullopt;
}

}  // namespace

std::optional<std::string> xml_unescape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '&') {
            out += text[i];
            continue;
        }
        std::size_t semi = text.find(';', i);
        if (semi == std::string_view::npos) return std::nullopt;
        std::optional<char> c = entity_char(text.substr(i + 1, semi - i - 1));
        if (!c) return std::nullopt;
        out += *c;
        i = semi;
    }
    return out;
}

std::string s3_error_code(std::string_view body) {
    if (!has_root(body, "Error")) return "";
    return first_text(body, "Code").value_or("");
}

bool s3_retryable(const S3Response& r) {
    if (r.status == 0) {
        switch (r.curl_code) {
            case CURLE_OK:
            case CURLE_UNSUPPORTED_PROTOCOL:
            case CURLE_URL_MALFORMAT:
            case CURLE_PEER_FAILED_VERIFICATION:
            case CURLE_SSL_CACERT_BADFILE:
            case CURLE_SSL_CERTPROBLEM:
            case CURLE_SSL_CRL_BADFILE:
            case CURLE_SSL_ISSUER_ERROR:
            case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            case CURLE_WRITE_ERROR:  // the caller's sink refused the data
            case CURLE_ABORTED_BY_CALLBACK:
            case CURLE_OUT_OF_MEMORY:
                return false;
            default:
                return true;  // refused, reset, timed out, name not resolved (yet), TLS handshake
        }
    }
    if (s3_error_code(r.body) == "SlowDown") return true;
    switch (r.status) {
        case 408:
        case 429:
        case 500:
        case 502:
        case 503:
        case 504:
            return true;
        default:
            return false;
    }
}

std::chrono::milliseconds s3_backoff(int attempt, std::uint64_t random,
                                     std::chrono::milliseconds base,
                                     std::chrono::milliseconds cap) {
    std::int64_t ceiling = base.count();
    for (int i = 0; i < attempt && ceiling < cap.count(); ++i) ceiling *= 2;
    ceiling = std::min<std::int64_t>(ceiling, cap.count());
    if (ceiling <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(
        static_cast<std::int64_t>(random % (static_cast<std::uint64_t>(ceiling) + 1)));
}

bool s3_auth_failure(const S3Response& r) {
    if (r.status == 401) return true;
    if (r.status != 403) return false;
    const std::string code = s3_error_code(r.body);
    // A HEAD answer carries no body: a 403 there is the credentials (or the policy) too.
    return code.empty() || code == "AccessDenied" || code == "InvalidAccessKeyId" ||
           code == "SignatureDoesNotMatch" || code == "InvalidToken" || code == "ExpiredToken" ||
           code == "RequestTimeTooSkewed" || code == "InvalidSecurity" ||
           code == "TokenRefreshRequired";
}

std::string s3_error_text(std::string_view what, std::string_view endpoint, std::string_view bucket,
                          std::string_view key, const S3Response& r) {
    std::string out = std::string(what) + ": s3 endpoint " + escape_bytes(endpoint, kShownText) +
                      ", bucket " + escape_bytes(bucket, kShownText);
    if (!key.empty()) out += ", key " + escape_bytes(key, kShownText);
    if (r.status == 0) {
        return out + ": " + (r.curl_code == CURLE_OPERATION_TIMEDOUT ? "timed out: " : "") +
               escape_bytes(r.curl_text.empty()
                                ? curl_easy_strerror(static_cast<CURLcode>(r.curl_code))
                                : r.curl_text,
                            kShownText);
    }
    out += ": HTTP " + std::to_string(r.status);
    const std::string code = s3_error_code(r.body);
    if (!code.empty()) {
        out += " " + escape_bytes(code, 60);
        std::optional<std::string> message = first_text(r.body, "Message");
        if (message && !message->empty()) out += " (" + escape_bytes(*message, kShownText) + ")";
    } else if (r.status == 404) {
        out += " (not found)";
    } else if (r.status == 403) {
        out += " (access refused: check the access key, the secret and the bucket's policy)";
    }
    return out;
}

S3ListPage parse_list_page(std::string_view body) {
    constexpr std::string_view kWhat = "ListObjectsV2 result";
    if (!has_root(body, "ListBucketResult")) bad_document(kWhat, "not a ListBucketResult");
    S3ListPage page;
    for (std::string_view contents : elements(body, "Contents")) {
        std::optional<std::string> key = first_text(contents, "Key");
        if (!key) bad_document(kWhat, "an entry without a readable Key");
        const std::string size_text = first_text(contents, "Size").value_or("");
        std::uint64_t size = 0;
        auto [end, ec] =
            std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
        if (size_text.empty() || ec != std::errc() || end != size_text.data() + size_text.size())
            bad_document(kWhat, "an entry without a readable Size");
        page.keys.push_back(std::move(*key));
        page.sizes.push_back(size);
        page.mtimes.push_back(s3_iso_time(first_text(contents, "LastModified").value_or("")));
    }
    const std::string truncated = first_text(body, "IsTruncated").value_or("false");
    if (truncated != "true" && truncated != "false") {
        bad_document(kWhat, "IsTruncated is \"" + escape_bytes(truncated, 20) + "\"");
    }
    page.truncated = truncated == "true";
    if (page.truncated) {
        page.next_token = first_text(body, "NextContinuationToken").value_or("");
        if (page.next_token.empty()) bad_document(kWhat, "truncated without NextContinuationToken");
    }
    return page;
}

std::int64_t s3_iso_time(std::string_view text) {
    std::tm tm{};
    const std::string copy(text.substr(0, 19));
    const char* end = ::strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (copy.size() != 19 || !end || *end != '\0') return 0;
    const std::time_t t = ::timegm(&tm);
    return t < 0 ? 0 : static_cast<std::int64_t>(t);
}

std::vector<S3DeleteError> parse_delete_errors(std::string_view body) {
    if (!has_root(body, "DeleteResult")) bad_document("DeleteObjects result", "not a DeleteResult");
    std::vector<S3DeleteError> out;
    for (std::string_view error : elements(body, "Error")) {
        out.push_back(S3DeleteError{first_text(error, "Key").value_or("?"),
                                    first_text(error, "Code").value_or("?"),
                                    first_text(error, "Message").value_or("")});
    }
    return out;
}

}  // namespace walferry
