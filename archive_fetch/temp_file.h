// A file written under a temporary name next to its final one and renamed into place only when
// complete, so no reader ever sees a partial file under the final name.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "unique_fd.h"

namespace walferry {

// A mkstemp file "<target>.walferry-tmp.XXXXXX", unlinked unless commit() renamed it into place:
// by the destructor, and by SIGTERM, SIGINT, SIGQUIT or SIGHUP (PostgreSQL's fast and immediate
// shutdowns signal restore_command), whose handler unlinks every uncommitted temp file of the
// process and then dies of the signal as it would have (a signal ignored when the process started
// stays ignored).
class TempFile {
  public:
    explicit TempFile(const std::string& target);
    ~TempFile();
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(std::span<const std::uint8_t> bytes);
    // fsync of the data; the caller syncs the directory after commit() where that matters.
    void sync();
    // Closes and renames onto `target` (replacing it). Error(kIo) on failure.
    void commit(const std::string& target);

  private:
    std::string path_;
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
