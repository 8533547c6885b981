#include "store/sftp/sftp_files.h"

#include "base/error.h"
#include "store/sftp/ssh_session.h"

namespace walferry {

namespace {

unsigned int length(const std::string& s) {
    return static_cast<unsigned int>(s.size());
}

bool missing(const SshSession& ssh) {
    return ssh.sftp_status() == LIBSSH2_FX_NO_SUCH_FILE;
}

void write_all(SshSession& ssh, SftpHandle& file, std::string_view content,
               const std::string& url) {
    while (!content.empty()) {
        ssize_t n = libssh2_sftp_write(file.get(), content.data(), content.size());
        if (n < 0) ssh.fail("cannot write", url);
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    if (libssh2_sftp_fsync(file.get()) != 0) ssh.fail("cannot fsync", url);
    file.close(url);
}

bool exists(SshSession& ssh, const std::string& path) {
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    if (libssh2_sftp_stat_ex(ssh.sftp(), path.c_str(), length(path), LIBSSH2_SFTP_LSTAT, &attrs) ==
        0) {
        return true;
    }
    if (missing(ssh)) return false;
    ssh.fail("cannot stat", sftp_url(ssh, path));
}

}  // namespace

std::string sftp_url(const SshSession& ssh, std::string_view path) {
    return "sftp://" + ssh.who() + std::string(path);
}

bool sftp_make_dir(SshSession& ssh, const std::string& path, long mode) {
    if (libssh2_sftp_mkdir_ex(ssh.sftp(), path.c_str(), length(path), mode) == 0) return true;
    // OpenSSH answers a plain "failure" for EEXIST: look.
    if (ssh.sftp_status() >= 0 && exists(ssh, path)) return false;
    ssh.fail("cannot create directory", sftp_url(ssh, path));
}

std::optional<std::int64_t> sftp_mtime(SshSession& ssh, const std::string& path) {
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    if (libssh2_sftp_stat_ex(ssh.sftp(), path.c_str(), length(path), LIBSSH2_SFTP_LSTAT, &attrs) !=
        0) {
        if (missing(ssh)) return std::nullopt;
        ssh.fail("cannot stat", sftp_url(ssh, path));
    }
    return attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME ? static_cast<std::int64_t>(attrs.mtime) : 0;
}

std::optional<std::vector<std::string>> sftp_list_dir(SshSession& ssh, const std::string& path) {
    SftpHandle dir = sftp_open(ssh, path, 0, 0, LIBSSH2_SFTP_OPENDIR);
    if (!dir) {
        if (missing(ssh)) return std::nullopt;
        ssh.fail("cannot read directory", sftp_url(ssh, path));
    }
    std::vector<std::string> names;
    char name[512];
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        int n = libssh2_sftp_readdir_ex(dir.get(), name, sizeof name, nullptr, 0, &attrs);
        if (n < 0) ssh.fail("cannot read directory", sftp_url(ssh, path));
        if (n == 0) return names;
        std::string entry(name, static_cast<std::size_t>(n));
        if (entry != "." && entry != "..") names.push_back(std::move(entry));
    }
}

std::optional<std::string> sftp_read_file(SshSession& ssh, const std::string& path,
                                          std::size_t max_bytes) {
    SftpHandle file = sftp_open(ssh, path, LIBSSH2_FXF_READ, 0);
    if (!file) {
        if (missing(ssh)) return std::nullopt;
        ssh.fail("cannot open", sftp_url(ssh, path));
    }
    std::string out;
    char buf[4096];
    while (out.size() <= max_bytes) {
        ssize_t n = libssh2_sftp_read(file.get(), buf, sizeof buf);
        if (n < 0) ssh.fail("cannot read", sftp_url(ssh, path));
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

bool sftp_create_exclusive(SshSession& ssh, const std::string& path, std::string_view content,
                           long mode) {
    SftpHandle file =
        sftp_open(ssh, path, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, mode);
    if (!file) {
        // OpenSSH maps EEXIST to a plain "failure": look whether the name is taken.
        if (ssh.sftp_status() >= 0 && exists(ssh, path)) return false;
        ssh.fail("cannot create", sftp_url(ssh, path));
    }
    write_all(ssh, file, content, sftp_url(ssh, path));
    return true;
}

void sftp_replace_file(SshSession& ssh, const std::string& temp, const std::string& path,
                       std::string_view content, long mode) {
    SftpHandle file =
        sftp_open(ssh, temp, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, mode);
    if (!file) ssh.fail("cannot create", sftp_url(ssh, temp));
    write_all(ssh, file, content, sftp_url(ssh, temp));
    const long flags =
        LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
    for (int attempt = 0;; ++attempt) {
        if (libssh2_sftp_rename_ex(ssh.sftp(), temp.c_str(), length(temp), path.c_str(),
                                   length(path), flags) == 0) {
            return;
        }
        // The flags travel only from SFTP v5 on; OpenSSH (v3) refuses an existing target.
        if (attempt > 0 || ssh.sftp_status() < 0 || !exists(ssh, path)) {
            ssh.fail("cannot rename to", sftp_url(ssh, path));
        }
        sftp_remove_file(ssh, path);
    }
}

bool sftp_remove_file(SshSession& ssh, const std::string& path) {
    if (libssh2_sftp_unlink_ex(ssh.sftp(), path.c_str(), length(path)) == 0) return true;
    if (missing(ssh)) return false;
    ssh.fail("cannot remove", sftp_url(ssh, path));
}

}  // namespace walferry
