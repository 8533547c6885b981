// Small-file operations on an SFTP server beyond the Store interface, for the state walferry
// keeps below an archive (walferry-cleanup's consumer records and lock). Paths are the server's
// absolute paths; errors go through SshSession::fail (kIo for an SFTP status, kUnavailable for a
// lost connection), naming sftp://user@host/path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walferry {

class SshSession;

// "sftp://user@host[:port]/path", for messages.
std::string sftp_url(const SshSession& ssh, std::string_view path);

// Creates the directory `path`; false if something exists under that name already.
bool sftp_make_dir(SshSession& ssh, const std::string& path, long mode);

// Modification time (unix time, the server's clock) of `path`, nullopt if it does not exist.
std::optional<std::int64_t> sftp_mtime(SshSession& ssh, const std::string& path);

// Names in the directory `path` ("." and ".." left out), nullopt if it does not exist.
std::optional<std::vector<std::string>> sftp_list_dir(SshSession& ssh, const std::string& path);

// Content of `path`, cut after max_bytes + 1 bytes (the caller refuses what is too long);
// nullopt if it does not exist.
std::optional<std::string> sftp_read_file(SshSession& ssh, const std::string& path,
                                          std::size_t max_bytes);

// Creates `path` with `content` (synced) only if nothing exists under that name (CREAT|EXCL,
// atomic on the server); false if it exists.
bool sftp_create_exclusive(SshSession& ssh, const std::string& path, std::string_view content,
                           long mode);

// Writes `content` to `temp` (created or truncated) and syncs it, then renames it to `path`,
// replacing what is there. SFTP v3 has no replacing rename and OpenSSH's plain rename never
// replaces (it links), and libssh2 1.10 offers no posix-rename@openssh.com: so when `path`
// exists, it is removed first and the rename repeated. Between the two, only the complete,
// synced `temp` holds the content: readers that may see that window must take `temp` for `path`
// (ConsumerRegistry does). Callers serialise writers of one `path`.
void sftp_replace_file(SshSession& ssh, const std::string& temp, const std::string& path,
                       std::string_view content, long mode);

// Removes the file `path`; false if it did not exist.
bool sftp_remove_file(SshSession& ssh, const std::string& path);

}  // namespace walferry
