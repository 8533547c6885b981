// One authenticated SSH connection with an SFTP channel (libssh2), owned by RAII: socket,
// session, SFTP subsystem, open remote files. Blocking libssh2 calls with a timeout on every
// wait, so a dead or silent server costs at most that timeout, never a hang.
#pragma once

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace walferry {

struct SshOptions {
    std::string user;  // empty: the current user, as ssh does
    std::string host;
    int port = 22;
    std::string identity;     // private key file; empty: every key of ssh-agent
    std::string known_hosts;  // empty: ~/.ssh/known_hosts
    bool accept_new_host_keys = false;
    int connect_timeout_ms = 10000;
    int io_timeout_ms = 30000;
};

class SshSession {
  public:
    // Connects, checks the host key, authenticates and starts SFTP. Errors: kUnavailable
    // (unreachable, timed out, host key refused, key not accepted), kConfig (known_hosts or
    // identity file missing or unreadable). Every message is one line naming user@host.
    explicit SshSession(const SshOptions& options);
    ~SshSession();
    SshSession(const SshSession&) = delete;
    SshSession& operator=(const SshSession&) = delete;

    LIBSSH2_SESSION* session() const noexcept { return session_.get(); }
    LIBSSH2_SFTP* sftp() const noexcept { return sftp_.get(); }
    // "user@host" or "user@host:port", for messages.
    const std::string& who() const noexcept { return who_; }

    // The SFTP status code of the last failed call, or -1 if it failed for another reason.
    long sftp_status() const noexcept;

    // Throws the Error for the last failed libssh2 call: an SFTP status is kIo
    // ("<what> \"<path>\": permission denied"); anything else (timeout, lost connection) is
    // kUnavailable and breaks the session for good, so later calls (closing handles, removing
    // a temp file) fail at once instead of waiting out the timeout again.
    [[noreturn]] void fail(std::string_view what, std::string_view path);

    bool broken() const noexcept { return broken_; }

    // Runs `command` through the user's shell on an exec channel; returns its exit status and
    // collects stdout and stderr (capped) in `output`.
    int run(const std::string& command, std::string& output);

  private:
    struct FreeSession {
        void operator()(LIBSSH2_SESSION* s) const noexcept;
    };
    struct FreeSftp {
        void operator()(LIBSSH2_SFTP* s) const noexcept;
    };
    void break_connection() noexcept;
    void verify_host_key(const SshOptions& options);
    void authenticate(const SshOptions& options);
    [[noreturn]] void fail_connect(std::string_view what);

    std::string who_;
    std::string user_;
    int io_timeout_ms_;
    bool broken_ = false;
    // Destroyed in reverse order: SFTP, then the session, then the socket.
    UniqueFd socket_;
    std::unique_ptr<LIBSSH2_SESSION, FreeSession> session_;
    std::unique_ptr<LIBSSH2_SFTP, FreeSftp> sftp_;
};

// An open remote file or directory; closed on destruction (errors ignored there: use close()
// where they matter, as after writing).
class SftpHandle {
  public:
    SftpHandle(SshSession& ssh, LIBSSH2_SFTP_HANDLE* handle) noexcept : ssh_(&ssh), h_(handle) {}
    SftpHandle(SftpHandle&& other) noexcept : ssh_(other.ssh_), h_(other.h_) { other.h_ = nullptr; }
    SftpHandle& operator=(SftpHandle&&) = delete;
    ~SftpHandle();

    LIBSSH2_SFTP_HANDLE* get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }
    // Closes now; throws (through ssh.fail) naming `path` if the server reports an error.
    void close(std::string_view path);

  private:
    SshSession* ssh_;
    LIBSSH2_SFTP_HANDLE* h_;
};

// Opens `path` on the server; an empty handle if it failed (see ssh.sftp_status()).
SftpHandle sftp_open(SshSession& ssh, const std::string& path, unsigned long flags, long mode,
                     int type = LIBSSH2_SFTP_OPENFILE);

// Text for an SFTP status code ("permission denied"), as the server's errno would read.
std::string sftp_status_text(long status);

// `text` quoted for a POSIX shell: 'it'\''s'.
std::string shell_quote(std::string_view text);

}  // namespace walferry
