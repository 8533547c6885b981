#include "store/sftp/known_hosts.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/unique_fd.h"

namespace walferry {

namespace {

struct KeyKind {
    int hostkey_type;       // LIBSSH2_HOSTKEY_TYPE_*
    int knownhost_type;     // LIBSSH2_KNOWNHOST_KEY_*
    const char* type_name;  // as known_hosts writes it
    const char* methods;    // libssh2 host key algorithm names for it
};

// In the order ssh prefers them.
constexpr KeyKind kKeyKinds[] = {
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519", "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256",
     "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384",
     "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521",
     "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa",
     "rsa-sha2-512,rsa-sha2-256,ssh-rsa"},
};

int knownhost_type_of(int hostkey_type) {
    for (const KeyKind& kind : kKeyKinds) {
        if (kind.hostkey_type == hostkey_type) return kind.knownhost_type;
    }
    return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

std::string read_whole_file(const std::string& path, bool may_be_missing) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        if (err == ENOENT && may_be_missing) return {};
        throw Error(ErrorCode::kConfig,
                    "cannot read known_hosts file \"" + path + "\": " + errno_text(err));
    }
    return read_all(fd.get(), path, kUnbounded, "cannot read known_hosts file");
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

// Next whitespace-separated field of `s` (advanced past it).
std::string_view next_field(std::string_view& s) {
    s = trim_left(s);
    std::size_t end = s.find_first_of(" \t\r\n");
    std::string_view field = s.substr(0, end);
    s.remove_prefix(field.size());
    return field;
}

}  // namespace

void KnownHosts::Free::operator()(LIBSSH2_KNOWNHOSTS* hosts) const noexcept {
    libssh2_knownhost_free(hosts);
}

KnownHosts::KnownHosts(LIBSSH2_SESSION* session, std::string path, bool may_be_missing)
    : hosts_(libssh2_knownhost_init(session)), path_(std::move(path)) {
    if (!hosts_) throw Error(ErrorCode::kInternal, "libssh2_knownhost_init failed");
    std::string text = read_whole_file(path_, may_be_missing);
    std::string_view rest = text;
    while (!rest.empty()) {
        std::size_t end = rest.find('\n');
        std::string line(rest.substr(0, end));
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
        if (std::string key = revoked_key_of(line); !key.empty()) {
            revoked_.push_back(std::move(key));
            continue;
        }
        if (trim_left(line).starts_with('@')) continue;  // @cert-authority: not supported
        // A line libssh2 cannot parse cannot match either; ssh may still need it, so it stays.
        libssh2_knownhost_readline(hosts_.get(), line.c_str(), line.size(),
                                   LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    }
}

bool KnownHosts::has_type(const std::string& name, int knownhost_type) const {
    const char dummy = 0;  // no real key is one byte long: a recorded type answers "mismatch"
    return libssh2_knownhost_check(
               hosts_.get(), name.c_str(), &dummy, 1,
               LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_type,
               nullptr) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
}

std::vector<std::string> KnownHosts::recorded_types(const std::string& name) const {
    std::vector<std::string> types;
    for (const KeyKind& kind : kKeyKinds) {
        if (has_type(name, kind.knownhost_type)) types.emplace_back(kind.type_name);
    }
    return types;
}

std::string KnownHosts::preferred_methods(const std::string& name) const {
    std::string recorded, others;
    for (const KeyKind& kind : kKeyKinds) {
        std::string& list = has_type(name, kind.knownhost_type) ? recorded : others;
        list += (list.empty() ? "" : ",") + std::string(kind.methods);
    }
    if (recorded.empty()) return others;
    return others.empty() ? recorded : recorded + "," + others;
}

HostKeyVerdict KnownHosts::check(const std::string& name, const HostKey& key) const {
    std::string encoded = base64_encode(key.blob);
    if (std::find(revoked_.begin(), revoked_.end(), encoded) != revoked_.end()) {
        return HostKeyVerdict::kRevoked;
    }
    int verdict = libssh2_knownhost_check(
        hosts_.get(), name.c_str(), reinterpret_cast<const char*>(key.blob.data()), key.blob.size(),
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownhost_type_of(key.type),
        nullptr);
    switch (verdict) {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return HostKeyVerdict::kMatch;
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            return HostKeyVerdict::kMismatch;
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            return HostKeyVerdict::kUnknown;
        default:
            throw Error(ErrorCode::kInternal, "libssh2_knownhost_check failed");
    }
}

void KnownHosts::append(const std::string& name, const HostKey& key) const {
    std::string line = known_hosts_line(name, key.blob);
    if (line.empty()) throw Error(ErrorCode::kUnavailable, "malformed host key from " + name);
    UniqueFd fd(::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw_io("cannot open known_hosts file", path_, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat known_hosts file", path_, errno);
    char last = '\n';
    if (st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) != 1) {
        throw_io("cannot read known_hosts file", path_, errno);
    }
    if (last != '\n') line.insert(0, "\n");
    write_all(fd.get(), line, path_, "cannot write known_hosts file");
    fsync_fd(fd.get(), path_, "cannot fsync known_hosts file");
}

HostKey presented_host_key(LIBSSH2_SESSION* session) {
    HostKey key;
    std::size_t len = 0;
    int type = LIBSSH2_HOSTKEY_TYPE_UNKNOWN;
    const char* blob = libssh2_session_hostkey(session, &len, &type);
    const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
    if (!blob || !hash) throw Error(ErrorCode::kUnavailable, "the server sent no host key");
    key.blob.assign(blob, blob + len);
    key.type = type;
    std::copy_n(reinterpret_cast<const std::uint8_t*>(hash), key.sha256.size(), key.sha256.begin());
    return key;
}

std::string known_hosts_name(std::string_view host, int port) {
    if (port == 22) return std::string(host);
    return "[" + std::string(host) + "]:" + std::to_string(port);
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string sha256_fingerprint(std::span<const std::uint8_t, 32> digest) {
    std::string text = base64_encode(digest);
    while (!text.empty() && text.back() == '=') text.pop_back();
    return "SHA256:" + text;
}

std::string key_type_name(std::span<const std::uint8_t> blob) {
    if (blob.size() < 4) return {};
    std::size_t len = std::size_t{blob[0]} << 24 | std::size_t{blob[1]} << 16 |
                      std::size_t{blob[2]} << 8 | std::size_t{blob[3]};
    if (len == 0 || len > 64 || len > blob.size() - 4) return {};
    std::string name(blob.begin() + 4, blob.begin() + 4 + static_cast<std::ptrdiff_t>(len));
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '@' ||
                  c == '.' || c == '_';
        if (!ok) return {};
    }
    return name;
}

std::string known_hosts_line(std::string_view name, std::span<const std::uint8_t> blob) {
    std::string type = key_type_name(blob);
    if (type.empty()) return {};
    return std::string(name) + " " + type + " " + base64_encode(blob) + "\n";
}

std::string supported_methods(std::string_view methods, const std::vector<std::string>& supported) {
    std::string out;
    while (!methods.empty()) {
        std::size_t comma = methods.find(',');
        std::string_view method = methods.substr(0, comma);
        methods.remove_prefix(comma == std::string_view::npos ? methods.size() : comma + 1);
        if (std::find(supported.begin(), supported.end(), method) != supported.end()) {
            out += (out.empty() ? "" : ",") + std::string(method);
        }
    }
    return out;
}

std::string revoked_key_of(std::string_view line) {
    if (next_field(line) != "@revoked") return {};
    next_field(line);  // host patterns
    next_field(line);  // key type
    return std::string(next_field(line));
}

}  // namespace walferry
