#include "store/sftp/ssh_session.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "base/durable_file.h"
#include "base/error.h"
#include "store/sftp/known_hosts.h"

namespace walferry {

namespace {

constexpr std::size_t kMaxCommandOutput = 4096;

void init_libssh2() {
    static std::once_flag once;
    static int rc = 0;
    std::call_once(once, [] { rc = libssh2_init(0); });
    if (rc != 0) throw Error(ErrorCode::kInternal, "libssh2_init failed");
}

bool is_timeout(int err) {
    return err == LIBSSH2_ERROR_TIMEOUT || err == LIBSSH2_ERROR_SOCKET_TIMEOUT;
}

std::string seconds(int ms) {
    return std::to_string((ms + 999) / 1000) + " s";
}

std::string home_dir() {
    if (const char* home = std::getenv("HOME"); home && *home) return home;
    const passwd* pw = ::getpwuid(::geteuid());
    return pw && pw->pw_dir ? pw->pw_dir : "";
}

std::string current_user() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw && pw->pw_name ? pw->pw_name : "";
}

std::string last_error_text(LIBSSH2_SESSION* session) {
    char* msg = nullptr;
    libssh2_session_last_error(session, &msg, nullptr, 0);
    return msg && *msg ? msg : "unknown libssh2 error";
}

// A connected TCP socket (blocking again, TCP_NODELAY) to the first address of `host` that
// answers within `timeout_ms` overall.
UniqueFd connect_socket(const std::string& host, int port, int timeout_ms, const std::string& who) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        throw Error(ErrorCode::kUnavailable, "cannot connect to " + who + ": cannot resolve \"" +
                                                 host + "\": " + ::gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, ::freeaddrinfo);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int err = ETIMEDOUT;
    for (const addrinfo* ai = found; ai; ai = ai->ai_next) {
        UniqueFd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             ai->ai_protocol));
        if (!fd) {
            err = errno;
            continue;
        }
        if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
            err = errno;
            if (err != EINPROGRESS) continue;
            pollfd p{fd.get(), POLLOUT, 0};
            int rc = retry_eintr([&] {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                return ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
            });
            if (rc == 0) {
                err = ETIMEDOUT;
                break;  // the overall budget is spent
            }
            socklen_t len = sizeof err;
            if (rc < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
            if (err != 0) continue;
        }
        int flags = ::fcntl(fd.get(), F_GETFL);
        ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        return fd;
    }
    if (err == ETIMEDOUT) {
        throw Error(ErrorCode::kUnavailable,
                    "cannot connect to " + who + ": no answer within " + seconds(timeout_ms));
    }
    throw Error(ErrorCode::kUnavailable, "cannot connect to " + who + ": " + errno_text(err));
}

// The host key algorithms this libssh2 build implements (1.10: no rsa-sha2-*).
std::vector<std::string> host_key_algorithms(LIBSSH2_SESSION* session) {
    const char** algs = nullptr;
    int n = libssh2_session_supported_algs(session, LIBSSH2_METHOD_HOSTKEY, &algs);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.emplace_back(algs[i]);
    if (algs) libssh2_free(session, algs);
    return out;
}

struct AgentFree {
    void operator()(LIBSSH2_AGENT* agent) const noexcept {
        libssh2_agent_disconnect(agent);
        libssh2_agent_free(agent);
    }
};

struct ChannelFree {
    void operator()(LIBSSH2_CHANNEL* channel) const noexcept { libssh2_channel_free(channel); }
};

}  // namespace

void SshSession::FreeSession::operator()(LIBSSH2_SESSION* s) const noexcept {
    libssh2_session_disconnect(s, "walferry done");
    libssh2_session_free(s);
}

void SshSession::FreeSftp::operator()(LIBSSH2_SFTP* s) const noexcept {
    libssh2_sftp_shutdown(s);
}

SshSession::SshSession(const SshOptions& options)
    : user_(options.user.empty() ? current_user() : options.user),
      io_timeout_ms_(options.io_timeout_ms) {
    who_ =
        user_ + "@" + options.host + (options.port == 22 ? "" : ":" + std::to_string(options.port));
    init_libssh2();
    socket_ = connect_socket(options.host, options.port, options.connect_timeout_ms, who_);
    session_.reset(libssh2_session_init());
    if (!session_) throw Error(ErrorCode::kInternal, "libssh2_session_init failed");
    libssh2_session_set_blocking(session_.get(), 1);
    libssh2_session_set_timeout(session_.get(), io_timeout_ms_);
    verify_host_key(options);
    authenticate(options);
    sftp_.reset(libssh2_sftp_init(session_.get()));
    if (!sftp_) fail_connect("cannot start SFTP on");
}

SshSession::~SshSession() = default;

void SshSession::fail_connect(std::string_view what) {
    int err = libssh2_session_last_errno(session_.get());
    std::string reason = is_timeout(err) ? "no answer within " + seconds(io_timeout_ms_)
                                         : last_error_text(session_.get());
    break_connection();
    throw Error(ErrorCode::kUnavailable, std::string(what) + " " + who_ + ": " + reason);
}

void SshSession::verify_host_key(const SshOptions& options) {
    std::string path = options.known_hosts;
    if (path.empty()) path = home_dir() + "/.ssh/known_hosts";
    KnownHosts known(session_.get(), path, options.accept_new_host_keys);
    const std::string name = known_hosts_name(options.host, options.port);
    const std::string methods =
        supported_methods(known.preferred_methods(name), host_key_algorithms(session_.get()));
    if (!methods.empty()) {
        libssh2_session_method_pref(session_.get(), LIBSSH2_METHOD_HOSTKEY, methods.c_str());
    }
    if (libssh2_session_handshake(session_.get(), socket_.get()) != 0) {
        fail_connect("SSH handshake failed with");
    }
    HostKey key = presented_host_key(session_.get());
    const std::string shown = key_type_name(key.blob) + " " + sha256_fingerprint(key.sha256);
    const std::string where = "known_hosts \"" + path + "\"";
    switch (known.check(name, key)) {
        case HostKeyVerdict::kMatch:
            return;
        case HostKeyVerdict::kRevoked:
            throw Error(ErrorCode::kUnavailable, "host key of " + who_ + " (" + shown +
                                                     ") is marked @revoked in " + where +
                                                     "; refusing to connect");
        case HostKeyVerdict::kMismatch:
            throw Error(ErrorCode::kUnavailable,
                        "HOST KEY MISMATCH for " + who_ + ": the server offers " + shown +
                            ", which is not the key recorded for " + name + " in " + where +
                            "; refusing to connect (if the key changed on purpose, remove the old "
                            "one with ssh-keygen -R '" +
                            name + "' -f '" + path + "')");
        case HostKeyVerdict::kUnknown:
            if (std::vector<std::string> types = known.recorded_types(name); !types.empty()) {
                // Only keys of types we could not get the server to use (libssh2 1.10 signs
                // RSA host keys with SHA-1 only, which OpenSSH 8.8 and later refuse).
                std::string list;
                for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
                throw Error(ErrorCode::kUnavailable,
                            "host key of " + who_ + ": " + where + " records only " + list +
                                " for " + name + ", but the server offered " + shown +
                                "; refusing to connect (add the server's ed25519 or ecdsa key)");
            }
            if (options.accept_new_host_keys) {
                known.append(name, key);
                return;
            }
            throw Error(ErrorCode::kUnavailable,
                        "host key of " + who_ + " (" + shown + ") is not in " + where +
                            "; refusing to connect (compare the fingerprint with ssh-keygen -l on "
                            "the server, then add the key, or set accept_new_host_keys = true)");
    }
}

void SshSession::authenticate(const SshOptions& options) {
    LIBSSH2_SESSION* s = session_.get();
    const auto user_len = static_cast<unsigned int>(user_.size());
    if (!options.identity.empty()) {
        const std::string& key = options.identity;
        if (UniqueFd probe(::open(key.c_str(), O_RDONLY | O_CLOEXEC)); !probe) {
            throw Error(ErrorCode::kConfig,
                        "cannot read identity file \"" + key + "\": " + errno_text(errno));
        }
        int rc = libssh2_userauth_publickey_fromfile_ex(s, user_.c_str(), user_len, nullptr,
                                                        key.c_str(), nullptr);
        if (rc == 0) return;
        if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED || rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
            throw Error(ErrorCode::kUnavailable, "public key authentication as " + who_ +
                                                     " failed: the server does not accept the "
                                                     "key \"" +
                                                     key + "\"");
        }
        if (rc == LIBSSH2_ERROR_FILE) {
            throw Error(ErrorCode::kConfig,
                        "cannot use identity file \"" + key + "\" for " + who_ + ": " +
                            last_error_text(s) +
                            " (a key with a passphrase must be loaded into ssh-agent instead)");
        }
        fail_connect("public key authentication failed as");
    }
    if (const char* sock = std::getenv("SSH_AUTH_SOCK"); !sock || !*sock) {
        throw Error(ErrorCode::kConfig, "no identity file configured for " + who_ +
                                            " and no ssh-agent (SSH_AUTH_SOCK is not set)");
    }
    std::unique_ptr<LIBSSH2_AGENT, AgentFree> agent(libssh2_agent_init(s));
    if (!agent) throw Error(ErrorCode::kInternal, "libssh2_agent_init failed");
    if (libssh2_agent_connect(agent.get()) != 0 ||
        libssh2_agent_list_identities(agent.get()) != 0) {
        throw Error(ErrorCode::kUnavailable,
                    "cannot use ssh-agent to log in as " + who_ + ": " + last_error_text(s));
    }
    libssh2_agent_publickey* identity = nullptr;
    int tried = 0;
    while (libssh2_agent_get_identity(agent.get(), &identity, identity) == 0) {
        ++tried;
        if (libssh2_agent_userauth(agent.get(), user_.c_str(), identity) == 0) return;
        int err = libssh2_session_last_errno(s);
        if (err != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
            err != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED && err != LIBSSH2_ERROR_AGENT_PROTOCOL) {
            fail_connect("public key authentication failed as");
        }
    }
    throw Error(ErrorCode::kUnavailable, "public key authentication as " + who_ +
                                             " failed: none of the " + std::to_string(tried) +
                                             " keys of ssh-agent was accepted");
}

long SshSession::sftp_status() const noexcept {
    if (!sftp_ || libssh2_session_last_errno(session_.get()) != LIBSSH2_ERROR_SFTP_PROTOCOL) {
        return -1;
    }
    return static_cast<long>(libssh2_sftp_last_error(sftp_.get()));
}

void SshSession::fail(std::string_view what, std::string_view path) {
    std::string head = std::string(what) + " \"" + std::string(path) + "\": ";
    if (long status = sftp_status(); status >= 0) {
        throw Error(ErrorCode::kIo, head + sftp_status_text(status));
    }
    int err = libssh2_session_last_errno(session_.get());
    std::string reason =
        is_timeout(err) ? "no answer from " + who_ + " within " + seconds(io_timeout_ms_)
                        : "connection to " + who_ + " failed: " + last_error_text(session_.get());
    break_connection();
    throw Error(ErrorCode::kUnavailable, head + reason);
}

void SshSession::break_connection() noexcept {
    broken_ = true;
    // Every later read or write fails at once: no second wait for a dead server.
    if (socket_) ::shutdown(socket_.get(), SHUT_RDWR);
}

int SshSession::run(const std::string& command, std::string& output) {
    std::unique_ptr<LIBSSH2_CHANNEL, ChannelFree> channel(
        libssh2_channel_open_session(session_.get()));
    if (!channel) fail("cannot open a command channel for", command);
    if (libssh2_channel_exec(channel.get(), command.c_str()) != 0) {
        if (libssh2_session_last_errno(session_.get()) == LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED) {
            throw Error(ErrorCode::kIo, "the server refuses to run \"" + command + "\" for " +
                                            who_ + " (the account may only use SFTP)");
        }
        fail("cannot run", command);
    }
    char buf[1024];
    for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
        for (;;) {
            ssize_t n = libssh2_channel_read_ex(channel.get(), stream, buf, sizeof buf);
            if (n < 0) fail("cannot read the output of", command);
            if (n == 0) break;
            if (output.size() < kMaxCommandOutput) output.append(buf, static_cast<std::size_t>(n));
        }
    }
    if (libssh2_channel_close(channel.get()) != 0 ||
        libssh2_channel_wait_closed(channel.get()) != 0) {
        fail("cannot finish", command);
    }
    return libssh2_channel_get_exit_status(channel.get());
}

SftpHandle::~SftpHandle() {
    if (h_) libssh2_sftp_close_handle(h_);
}

void SftpHandle::close(std::string_view path) {
    LIBSSH2_SFTP_HANDLE* h = h_;
    h_ = nullptr;
    if (h && libssh2_sftp_close_handle(h) != 0) ssh_->fail("cannot close", path);
}

SftpHandle sftp_open(SshSession& ssh, const std::string& path, unsigned long flags, long mode,
                     int type) {
    return SftpHandle(
        ssh, libssh2_sftp_open_ex(ssh.sftp(), path.c_str(), static_cast<unsigned int>(path.size()),
                                  flags, mode, type));
}

std::string sftp_status_text(long status) {
    static constexpr const char* kTexts[] = {"ok",
                                             "end of file",
                                             "no such file or directory",
                                             "permission denied",
                                             "failure",
                                             "bad message",
                                             "no connection",
                                             "connection lost",
                                             "operation not supported by the server",
                                             "invalid handle",
                                             "no such path",
                                             "file already exists",
                                             "write protected",
                                             "no media",
                                             "no space left on the file system",
                                             "quota exceeded",
                                             "unknown principal",
                                             "lock conflict",
                                             "directory not empty",
                                             "not a directory",
                                             "invalid file name",
                                             "too many levels of symbolic links"};
    if (status >= 0 && status < static_cast<long>(std::size(kTexts))) return kTexts[status];
    return "SFTP status " + std::to_string(status);
}

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

}  // namespace walferry
