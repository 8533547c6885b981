// Local files, written so that a crash (kill -9, a power loss) leaves either what was there or
// the whole new file under its name, never a part of one; and the reads, directory listings and
// EINTR retries that go with them. The one place walferry does file I/O by hand, after
// PostgreSQL's durable_rename()/fsync_fname() (src/backend/storage/file/fd.c) and the close
// modes of pg_basebackup's walmethods:
//
//   TempFile temp(dir_fd, dir, name);   a new file under a temporary name (TempName)
//   temp.write(...); temp.sync();       every byte, then fsync of the data
//   temp.publish(name, kNoReplace)      link(): never replaces an existing name (false if taken)
//   temp.publish(name, kReplace)        rename(): replaces (walmethods' CLOSE_NORMAL)
//   ~TempFile() before publish          unlinked (CLOSE_UNLINK): on every error path too
//   fsync_dir(dir_fd, dir)              the new name (and the temp's removal) survives a crash
//
// write_file_durably() is all of that for a small file. Every failure is Error(kIo)
// "<what> \"<path>\": <strerror>" naming the file, unless said otherwise.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"

namespace walferry {

// `call()` (a system call: -1 and errno on failure) made again for as long as it fails with
// EINTR; its last result.
template <typename Call>
auto retry_eintr(Call&& call) {
    for (;;) {
        auto result = call();
        if (result != -1 || errno != EINTR) return result;
    }
}

// Writes every byte to `fd` (after short writes too).
void write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& path,
               std::string_view what = "cannot write");
void write_all(int fd, std::string_view text, const std::string& path,
               std::string_view what = "cannot write");

// read() into `buf` until it is full or the file ends; the number of bytes read.
std::size_t read_full(int fd, std::span<std::uint8_t> buf, const std::string& path);
// The same with pread() from `offset`: the file offset is left alone.
std::size_t pread_full(int fd, std::span<std::uint8_t> buf, off_t offset, const std::string& path);

// The rest of `fd`, cut after max_bytes + 1 bytes (one more than max_bytes: tells a larger file).
inline constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
std::string read_all(int fd, const std::string& path, std::size_t max_bytes = kUnbounded,
                     std::string_view what = "cannot read");

// fsync of an open file (or directory).
void fsync_fd(int fd, const std::string& path, std::string_view what = "cannot fsync");
// fsync of the directory `dir_fd` ("cannot fsync directory"), or of the directory at `dir`
// ("cannot open directory" too), so that a new name, rename or unlink in it survives a crash.
void fsync_dir(int dir_fd, const std::string& dir);
void fsync_dir(const std::string& dir);

struct DirEntry {
    std::string name;
    unsigned char type;  // readdir's d_type: DT_REG, DT_DIR, DT_LNK, ... or DT_UNKNOWN
};
// Every entry of the directory `dir_fd` but "." and "..", in readdir's order; `dir_fd` stays
// open, its offset untouched. Failure -> "<what> \"<dir>\": <strerror>".
std::vector<DirEntry> list_dir(int dir_fd, const std::string& dir,
                               std::string_view what = "cannot read directory");

// `dir` + "/" + `name` ("/name" in "/", `name` alone for an empty `dir`).
std::string join_path(const std::string& dir, std::string_view name);

// How a TempFile is named and made.
struct TempName {
    std::string stem;       // the name up to its random part
    int random_digits = 0;  // lower-case hex digits after `stem`, the file created exclusively
                            // (another name tried when taken); 0: `stem` is the name, created
                            // or truncated (one writer at a time, under a lock)
    mode_t mode = 0600;
    // Also unlinked by SIGTERM, SIGINT, SIGQUIT and SIGHUP (PostgreSQL's fast and immediate
    // shutdowns signal restore_command): the handler unlinks every such file of the process, then
    // the process dies of the signal as it would have (a signal ignored when the process started
    // stays ignored, another handler is left alone). Only for a name relative to the working
    // directory (dir_fd AT_FDCWD): a directory fd may be closed, its path replaced, by then.
    bool remove_on_signal = false;
};

enum class Publish { kNoReplace, kReplace };

// A new file in the directory `dir_fd` (AT_FDCWD: `name.stem` is a path), unlinked on
// destruction unless it was published. `dir` names the directory in messages ("" for
// AT_FDCWD). Creation fails -> "cannot create temporary file \"<path>\"".
class TempFile {
  public:
    TempFile(int dir_fd, std::string dir, const TempName& name);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    int fd() const noexcept { return fd_.get(); }
    // Its path for messages: `dir`/name.
    const std::string& path() const noexcept { return path_; }

    void write(std::span<const std::uint8_t> bytes);
    void write(std::string_view text);
    // fsync of the data ("cannot fsync"); publish() leaves the directory to the caller.
    void sync();

    // Closes the file ("cannot write": what close() reports is lost data) and gives it the name
    // `name` in its directory (a path for AT_FDCWD). kReplace: rename(), replacing what is there
    // ("cannot rename to"); true. kNoReplace: link() then unlink of the temporary name, or where
    // the file system has no hard links renameat2(RENAME_NOREPLACE): never replaces, false if
    // `name` exists (left intact; the temporary file is removed by the destructor). Failures
    // "cannot link temporary file to", "cannot rename temporary file to", "cannot remove
    // temporary file"; Error(kUnsupported) if the file system can do neither.
    bool publish(const std::string& name, Publish mode);
    // The same into another directory of the same file system (`target_dir` in messages): a
    // temp kept apart from the published files, where a sweep need not list them.
    bool publish_in(int target_dir_fd, const std::string& target_dir, const std::string& name,
                    Publish mode);

  private:
    void forget() noexcept;

    int dir_fd_;
    std::string dir_;
    std::string name_;  // relative to dir_fd_; empty once published or removed
    std::string path_;
    UniqueFd fd_;
    int slot_ = -1;  // in the signal handler's list, -1 if not there
};

// `text` under `name` in the directory `dir_fd` (an open directory, `dir` in messages), whole or
// not at all: a TempFile `temp`, written, synced, published by `mode`, then the directory
// synced. False only when kNoReplace finds `name` taken.
bool write_file_durably(int dir_fd, const std::string& dir, const std::string& name,
                        const TempName& temp, std::string_view text, Publish mode);

// Removes the regular files of the directory `dir_fd` that `is_temp` takes for temporary files
// and that nobody has written for `stale_seconds`: left by a writer that was killed (kill -9, a
// crash, a power loss), while a live one keeps writing its own. With `own_only`, only this
// user's. Never fails: litter must not fail a call.
void remove_stale_temps(int dir_fd, const std::function<bool(std::string_view)>& is_temp,
                        std::time_t stale_seconds, bool own_only) noexcept;

}  // namespace walferry
