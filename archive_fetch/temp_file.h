// A file written under a temporary name next to its final one and renamed into place only when
// complete, so no reader ever sees a partial file under the final name.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "unique_fd.h"

namespace walferry {

// A mkstemp file "<target>.walferry-tmp.XXXXXX", unlinked unless commit() renamed it into place.
class TempFile {
  public:
    explicit TempFile(const std::string& target);
    // "<target>.walferry-tmp.XXXXXX" in the directory `dir_fd` (never through a symbolic link),
    // `target` a plain name in it; commit() then takes a name in that directory too. `where`
    // names the directory in messages.
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
    bool committed_ = false;
};

}  // namespace walferry
