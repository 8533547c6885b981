#include "store/location.h"

#include <charconv>

#include "base/error.h"
#include "base/escape.h"

namespace walferry {

namespace {

[[noreturn]] void bad(std::string_view text, std::string_view why) {
    throw Error(ErrorCode::kConfig, "invalid archive location \"" + escape_bytes(text, 200) +
                                        "\": " + std::string(why));
}

// Collapses repeated and trailing slashes, "." and ".." (lexically: the operator's words, not
// symlinks, decide which directory is meant).
std::string clean_path(std::string_view text, std::string_view path) {
    if (path.empty() || path.front() != '/') bad(text, "path must be absolute");
    std::string out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view part = path.substr(i, j - i);
        if (part == "..") {
            out.resize(out.empty() ? 0 : out.rfind('/'));
        } else if (!part.empty() && part != ".") {
            out += '/';
            out += part;
        }
        i = j;
    }
    return out.empty() ? "/" : out;
}

// "BUCKET[/PREFIX]": S3's bucket naming rules (lower case, so that virtual-hosted style works);
// the prefix cleaned like a path, so "s3://b/x/" and "s3://b/x" are one archive.
Location parse_s3(std::string_view text, std::string_view rest) {
    Location loc;
    loc.scheme = Location::Scheme::kS3;
    std::size_t slash = rest.find('/');
    std::string_view bucket = rest.substr(0, slash);
    if (bucket.size() < 3 || bucket.size() > 63)
        bad(text, "bucket name must be 3 to 63 characters");
    for (char c : bucket) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            bad(text, "bucket name may hold only a-z, 0-9, '.' and '-'");
    }
    loc.host = bucket;
    loc.path = slash == std::string_view::npos ? "/" : clean_path(text, rest.substr(slash));
    return loc;
}

}  // namespace

std::string Location::url() const {
    if (scheme == Scheme::kFile) return "file://" + path;
    if (scheme == Scheme::kS3) return "s3://" + host + (path == "/" ? "" : path);
    std::string out = "sftp://";
    if (!user.empty()) out += user + "@";
    out += host + ":" + std::to_string(port) + path;
    return out;
}

Location parse_location(std::string_view text, std::string_view cwd) {
    if (text.empty()) bad(text, "empty");
    if (text.find('\0') != std::string_view::npos) bad(text, "contains a NUL byte");
    Location loc;
    constexpr std::string_view kFile = "file://";
    constexpr std::string_view kSftp = "sftp://";
    constexpr std::string_view kS3 = "s3://";
    if (text.starts_with(kFile)) {
        loc.path = clean_path(text, text.substr(kFile.size()));
        return loc;
    }
    if (text.starts_with(kSftp)) {
        loc.scheme = Location::Scheme::kSftp;
        std::string_view rest = text.substr(kSftp.size());
        std::size_t slash = rest.find('/');
        if (slash == std::string_view::npos) bad(text, "missing path after host");
        std::string_view authority = rest.substr(0, slash);
        loc.path = clean_path(text, rest.substr(slash));
        if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
            loc.user = authority.substr(0, at);
            if (loc.user.empty()) bad(text, "empty user name");
            authority = authority.substr(at + 1);
        }
        if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
            std::string_view port = authority.substr(colon + 1);
            auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), loc.port);
            if (ec != std::errc() || end != port.data() + port.size() || loc.port < 1 ||
                loc.port > 65535) {
                bad(text, "port must be a number from 1 to 65535");
            }
            authority = authority.substr(0, colon);
        }
        if (authority.empty()) bad(text, "empty host");
        loc.host = authority;
        return loc;
    }
    if (text.starts_with(kS3)) return parse_s3(text, text.substr(kS3.size()));
    if (text.find("://") != std::string_view::npos)
        bad(text, "unknown scheme (use file://, sftp:// or s3://)");
    if (text.front() == '/') {
        loc.path = clean_path(text, text);
    } else {
        loc.path = clean_path(text, std::string(cwd) + "/" + std::string(text));
    }
    return loc;
}

}  // namespace walferry
