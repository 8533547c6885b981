// Host key checking for sftp:// against an OpenSSH known_hosts file, the way `ssh` does it:
// plain and hashed (|1|salt|hash) names, "[host]:port" for ports other than 22, @revoked keys
// refused. No trust on first use unless the destination asks for it (accept_new_host_keys), and
// then only for a host with no recorded key: a different key is always refused.
#pragma once

#include <libssh2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace walferry {

// The key a server presented during the handshake.
struct HostKey {
    std::vector<std::uint8_t> blob;  // SSH wire format (type name, then key data)
    int type = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
    std::array<std::uint8_t, 32> sha256{};  // of the blob, as libssh2_hostkey_hash gives it
};

// The key of the session that just completed its handshake.
HostKey presented_host_key(LIBSSH2_SESSION* session);

enum class HostKeyVerdict { kMatch, kMismatch, kUnknown, kRevoked };

class KnownHosts {
  public:
    // Reads `path` (an OpenSSH known_hosts file). Lines libssh2 cannot use (certificate
    // authorities, security-key types, wildcard patterns never match) are skipped, not fatal,
    // since ~/.ssh/known_hosts is shared with ssh. A missing file is Error(kConfig) unless
    // `may_be_missing` (accept_new_host_keys creates it).
    KnownHosts(LIBSSH2_SESSION* session, std::string path, bool may_be_missing);

    // Key types recorded for `name` ("ssh-ed25519", ...), in ssh's order of preference.
    std::vector<std::string> recorded_types(const std::string& name) const;

    // libssh2 host key algorithms to offer, those of the types recorded for `name` first: a server
    // with several host keys must present the one we know, as ssh arranges it.
    std::string preferred_methods(const std::string& name) const;

    HostKeyVerdict check(const std::string& name, const HostKey& key) const;

    // Appends "name type base64" (fsynced); creates the file (0600) if needed.
    void append(const std::string& name, const HostKey& key) const;

    const std::string& path() const noexcept { return path_; }

  private:
    bool has_type(const std::string& name, int knownhost_type) const;
    struct Free {
        void operator()(LIBSSH2_KNOWNHOSTS* hosts) const noexcept;
    };
    std::unique_ptr<LIBSSH2_KNOWNHOSTS, Free> hosts_;
    std::string path_;
    std::vector<std::string> revoked_;  // base64 key data of @revoked lines
};

// Pure helpers, exposed for tests.

// How known_hosts names a server: "host" on port 22, "[host]:port" otherwise.
std::string known_hosts_name(std::string_view host, int port);

// Standard base64 with '=' padding.
std::string base64_encode(std::span<const std::uint8_t> bytes);

// "SHA256:" + unpadded base64, as ssh and ssh-keygen -l print it.
std::string sha256_fingerprint(std::span<const std::uint8_t, 32> digest);

// The key type name at the start of a wire-format key blob ("ssh-ed25519"), "" if malformed.
std::string key_type_name(std::span<const std::uint8_t> blob);

// One known_hosts line for `name` and `blob`, ending in '\n'; "" if the blob is malformed.
std::string known_hosts_line(std::string_view name, std::span<const std::uint8_t> blob);

// The names of the comma-separated `methods` that are in `supported`, comma-separated, in order.
// (libssh2 1.10's own filtering of unsupported names copies overlapping memory.)
std::string supported_methods(std::string_view methods, const std::vector<std::string>& supported);

// The base64 key of a "@revoked <hosts> <type> <key>" line, "" for any other line.
std::string revoked_key_of(std::string_view line);

}  // namespace walferry
