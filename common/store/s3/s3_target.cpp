#include "store/s3/s3_target.h"

#include "base/error.h"
#include "base/escape.h"

namespace walferry {

namespace {

[[noreturn]] void bad_config(const Destination& d, const std::string& why) {
    throw Error(ErrorCode::kConfig, "destination \"" + d.name + "\": " + why);
}

}  // namespace

S3Target s3_target(const Destination& d) {
    S3Target t;
    t.bucket = d.location.host;
    t.prefix = d.location.path == "/" ? "" : d.location.path.substr(1) + "/";
    t.region = d.region;
    if (t.region.empty()) bad_config(d, "region is empty");
    std::string endpoint = d.endpoint;
    if (endpoint.empty()) endpoint = "https://s3." + t.region + ".amazonaws.com";
    std::size_t sep = endpoint.find("://");
    if (sep == std::string::npos) bad_config(d, "endpoint must start with https:// or http://");
    t.scheme = endpoint.substr(0, sep);
    if (t.scheme != "https" && t.scheme != "http") {
        bad_config(d, "endpoint must start with https:// or http://");
    }
    t.host = endpoint.substr(sep + 3);
    if (t.host.ends_with('/')) t.host.pop_back();
    if (t.host.empty() || t.host.find_first_of("/?#@ ") != std::string::npos) {
        bad_config(d, "endpoint \"" + escape_bytes(endpoint, 200) +
                          "\" must be scheme://host[:port] with no path");
    }
    const std::string& style = d.uri_style;
    if (style.empty()) {
        t.virtual_style = d.endpoint.empty();
    } else if (style == "virtual" || style == "path") {
        t.virtual_style = style == "virtual";
    } else {
        bad_config(d, "uri_style must be \"path\" or \"virtual\"");
    }
    return t;
}

}  // namespace walferry
