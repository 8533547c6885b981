// Where an archive lives: a destination of walferry-push or a source of walferry-fetch.
#pragma once

#include <string>
#include <string_view>

namespace walferry {

struct Location {
    enum class Scheme { kFile, kSftp };
    Scheme scheme = Scheme::kFile;
    std::string path;  // absolute, without trailing '/' (except "/")
    std::string user;  // sftp only
    std::string host;  // sftp only
    int port = 22;     // sftp only

    // Canonical form: "file:///var/lib/pgarchive", "sftp://postgres@10.0.0.2:22/var/lib/pgarchive".
    std::string url() const;
};

// Accepts "file:///abs/path", "sftp://[user@]host[:port]/abs/path", or a plain path; a relative
// plain path is taken relative to `cwd` (PostgreSQL runs archive_command in PGDATA).
// Throws Error(kConfig) naming the text and the problem (unknown scheme, relative file:// path,
// empty host, bad port, NUL, ...).
Location parse_location(std::string_view text, std::string_view cwd);

}  // namespace walferry
