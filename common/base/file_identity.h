// Which file, and which version of it: what lets a later process trust bytes an earlier one
// checked, without reading them again.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walferry {

// Device, inode, size, and modification and change times to the nanosecond. Writing to a file,
// truncating, renaming it or over it or changing it in any way changes its ctime (which no caller
// can set), and another file has another inode.
struct FileIdentity {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

FileIdentity identity_from(const struct stat& st);

// The identity of the file `path` names now (symbolic links followed); nullopt if it cannot be
// stat()ed.
std::optional<FileIdentity> identity_of(const std::string& path);

// "dev:ino:size:mtime_ns:ctime_ns", all decimal.
std::string format_identity(const FileIdentity& id);

// The inverse of format_identity; nullopt for anything else.
std::optional<FileIdentity> parse_identity(std::string_view text);

}  // namespace walferry
