// Where an s3:// destination's requests go: its endpoint, bucket, prefix, region and URI style,
// checked. Apart from s3_request.h because the config reader checks these keys when it reads the
// file (cli/config.cpp), in every command, while the rest of the backend is loaded only by a call
// that opens an s3:// store (store_module.h).
#pragma once

#include <string>
#include <string_view>

#include "store/destination.h"

namespace walferry {

// Where one archive's requests go.
struct S3Target {
    std::string scheme;  // "https" or "http"
    std::string host;    // "127.0.0.1:7480", "s3.eu-west-1.amazonaws.com" (port included)
    std::string bucket;
    std::string prefix;  // "" or "cluster1/" (always ends with '/')
    std::string region;
    bool virtual_style = false;

    // "https://127.0.0.1:7480" for messages: the endpoint as configured, without the bucket.
    std::string endpoint() const { return scheme + "://" + host; }
    // The object key of an archive file: prefix + name.
    std::string key(std::string_view name) const { return prefix + std::string(name); }
};

// From an s3:// destination: the endpoint (or AWS's for the region), the URI style, the
// prefix. Throws Error(kConfig) for an endpoint that is not "http(s)://host[:port][/]" or an
// unknown uri_style.
S3Target s3_target(const Destination& destination);

}  // namespace walferry
