// The sftp:// backend: an archive directory on another host, reached over SSH (libssh2).
//
// Durability. put() writes a temporary file ".walferry-tmp.<name>.<random>" in the archive's
// ".walferry-incoming" directory, has the server fsync it (fsync@openssh.com; a server without that
// extension is refused, since the data could not be made durable), closes it, then publishes it
// with the plain SFTP rename. OpenSSH's sftp-server (and internal-sftp, the same code) performs
// that rename as link() + unlink(), so it never replaces an existing name: an existing file makes
// put() return false. posix-rename@openssh.com would replace and is never used.
// SFTP has no way to fsync a directory, so after put() returns the new name is durable on the
// remote side only as far as the remote file system orders metadata (ext4 and xfs with their
// default journaling commit it within seconds; the data itself is already synced). Where that
// is not enough, `remote_sync = true` runs `sync -- <dir>` (coreutils: fsync of the directory)
// over an exec channel after each publish; that needs an account allowed to run commands.
//
// Connections are opened on first use (so open_store() does no I/O) and reopened after a
// transport failure. Timeouts: TCP connect, then every single wait for the server.
#pragma once

#include <memory>
#include <string>

#include "store/destination.h"
#include "store/store.h"

namespace walferry {

class SshSession;
class SftpHandle;

class SftpStore final : public Store {
  public:
    // `destination.location` must be an sftp:// location.
    explicit SftpStore(Destination destination);
    ~SftpStore() override;

    std::string describe() const override;
    void warm_up() override { connected(); }
    // A temp file in kTempDir of the archive, fsync@openssh.com, then a plain SFTP rename, which
    // never replaces an existing name (OpenSSH's sftp-server renames by link + unlink).
    bool put(std::string_view name, ByteParts parts) override;
    // fsync@openssh.com on the file opened read-only (sftp-server fsyncs the handle's fd, which
    // needs no write access), then `remote_sync` as put() does.
    void sync(std::string_view name) override;
    std::optional<ObjectStat> stat(std::string_view name, std::size_t head_bytes) override;
    bool get(std::string_view name, const ByteSink& sink) override;
    // Regular files and links to them; hidden names (temp files) left out.
    std::vector<std::string> list() override;
    std::vector<ListedFile> list_files() override;
    std::unique_ptr<ConsumerStore> consumers(ConsumerAccess access, int lock_wait_s) override;
    bool remove(std::string_view name) override;

    // The connection (opened now if needed) and the archive's path on the server, for state
    // kept below the archive (walferry-cleanup's consumers and lock; see sftp_files.h).
    SshSession& session() { return connected(); }
    const std::string& directory() const noexcept { return destination_.location.path; }

  private:
    SshSession& connected();
    std::string remote_path(std::string_view name) const;
    std::string url_of(std::string_view name) const;
    // After "no such file": Error(kIo) if it is the archive directory that is missing.
    void check_archive_directory(SshSession& ssh);
    struct OpenedObject;
    // The stored object `name` opened for reading (check_archive_directory when there is none).
    OpenedObject open_object(std::string_view name);
    void remove_dead_temps(SshSession& ssh, const std::string& name);
    SftpHandle create_temp(SshSession& ssh, const std::string& path);
    SftpHandle file_or_fail(SshSession& ssh, SftpHandle file);
    void sync_directory(SshSession& ssh);
    void fsync_file(SshSession& ssh, const SftpHandle& file, std::string_view name,
                    const std::string& url);

    Destination destination_;
    std::unique_ptr<SshSession> session_;
    bool swept_ = false;
};

// Exposed for tests.

// The temporary name put() writes `name` under: kTempPrefix + name (cut so that the whole stays
// within 255 bytes) + "." + 16 lower-case hex digits of `random`.
std::string sftp_temp_name(std::string_view name, std::uint64_t random);

// True if `entry` is a temporary file put() made for `name` (any random part).
bool is_temp_of(std::string_view entry, std::string_view name);

}  // namespace walferry
