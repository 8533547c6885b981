// Where an archive lives: a destination of walferry-push or a source of walferry-fetch.
#pragma once

#include <string>
#include <string_view>

namespace walferry {

struct Location {
    enum class Scheme { kFile, kSftp, kS3 };
    Scheme scheme = Scheme::kFile;
    // absolute, without trailing '/' (except "/"); s3: "/" + the key prefix ("/" for none)
    std::string path;
    std::string user;  // sftp only
    std::string host;  // sftp: the host; s3: the bucket
    int port = 22;     // sftp only

    // Canonical form: "file:///var/lib/pgarchive", "sftp://postgres@10.0.0.2:22/var/lib/pgarchive",
    // "s3://pg-archive/cluster1".
    std::string url() const;
};

// Accepts "file:///abs/path", "sftp://[user@]host[:port]/abs/path", "s3://BUCKET[/PREFIX]"
// (BUCKET: 3..63 of [a-z0-9.-]), or a plain path; a relative
// plain path is taken relative to `cwd` (PostgreSQL runs archive_command in PGDATA).
// Throws Error(kConfig) naming the text and the problem (unknown scheme, relative file:// path,
// empty host, bad port, NUL, ...).
Location parse_location(std::string_view text, std::string_view cwd);

}  // namespace walferry
