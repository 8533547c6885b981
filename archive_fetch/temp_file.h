// A file written under a temporary name next to its final one and renamed into place only when
// complete, so no reader ever sees a partial file under the final name.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/unique_fd.h"

namespace walferry {

// A mkstemp file "<target>.walferry-tmp.XXXXXX", unlinked unless commit() renamed it into place:
// by the destructor, and by SIGTERM, SIGINT, SIGQUIT or SIGHUP (PostgreSQL's fast and immediate
// shutdowns signal restore_command), whose handler unlinks every uncommitted temp file of the
// process and then dies of the signal as it would have (a signal ignored when the process started
// stays ignored).
class TempFile {
  public:
    explicit TempFile(const std::string& target);
    // "<target>.walferry-tmp.XXXXXX" in the directory `dir_fd` (never through a symbolic link),
    // `target` a plain name in it; commit() then takes a name in that directory too. `where`
    // names the directory in messages. Not removed by the signal handler (see the .cpp).
    TempFile(int dir_fd, const std::string& target, const std::string& where);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(std::span<const std::uint8_t> bytes);
    // fsync of the data; the caller syncs the directory after commit() where that matters.
    void sync();
    // Closes and renames onto `target` (replacing it). Error(kIo) on failure.
    void commit(const std::string& target);

  private:
    int dir_fd_;         // AT_FDCWD for a path
    std::string path_;   // relative to dir_fd_
    std::string where_;  // path_ as messages name it
    UniqueFd fd_;
    int slot_ = -1;  // in the signal handler's list, -1 if not there
    bool committed_ = false;
};

// Temp files left next to `target` by a call that was killed (SIGKILL, a crash, a power loss):
// in the directory of `target`, every name "<anything>.walferry-tmp.XXXXXX" (mkstemp's six
// letters and digits) that is a regular file of this user, untouched for kStaleTempMinutes
// (a live call writes its temp file continuously, and its waits are bounded by the sources'
// timeouts), is removed. Never fails: litter must not fail a call.
void remove_stale_temps_next_to(const std::string& target) noexcept;
inline constexpr int kStaleTempMinutes = 15;

// True if `name` has the form of a TempFile's name (exposed for tests).
bool is_temp_file_name(std::string_view name) noexcept;

}  // namespace walferry
