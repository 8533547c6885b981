#include "archive_push/unreachable.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "base/error.h"
#include "base/spool_dir.h"
#include "base/unique_fd.h"

namespace walferry {

namespace {

constexpr std::string_view kNotes = kSpoolUnreachableDir;

// <spool>/unreachable, opened as spool_dir.h says; an invalid fd if it cannot be (a refused
// one included: the notes only save time, and the spool's other uses say what is wrong).
UniqueFd notes_dir(const Spool& spool, bool create) {
    try {
        return open_spool_dir(spool.dir(), kNotes, create);
    } catch (const Error&) {
        return {};
    }
}

}  // namespace

std::vector<std::optional<std::int64_t>> unreachable_ages(const Spool& spool,
                                                          const std::vector<std::string>& names) {
    std::vector<std::optional<std::int64_t>> ages;
    const std::int64_t now = std::time(nullptr);
    UniqueFd dir = notes_dir(spool, false);
    for (const std::string& name : names) {
        struct stat st {};
        if (dir &&
            ::fstatat(dir.get(), destination_key(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
            ages.emplace_back(std::max<std::int64_t>(0, now - st.st_mtim.tv_sec));
        else
            ages.emplace_back(std::nullopt);
    }
    return ages;
}

void note_unreachable(const Spool& spool, const std::string& name) {
    UniqueFd dir = notes_dir(spool, true);
    if (!dir) return;
    UniqueFd fd(::openat(dir.get(), destination_key(name).c_str(),
                         O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd) ::futimens(fd.get(), nullptr);  // now
}

void note_reachable(const Spool& spool, const std::string& name) {
    UniqueFd dir = notes_dir(spool, false);
    if (dir) ::unlinkat(dir.get(), destination_key(name).c_str(), 0);
}

std::vector<bool> destinations_to_skip(const std::vector<std::optional<std::int64_t>>& ages,
                                       int required) {
    std::vector<bool> skip(ages.size(), false);
    for (std::size_t i = 0; i < ages.size(); ++i)
        skip[i] = ages[i] && *ages[i] < kRetryUnreachableAfterS;
    const auto tried = std::count(skip.begin(), skip.end(), false);
    if (tried < std::max(required, 1)) std::fill(skip.begin(), skip.end(), false);
    return skip;
}

}  // namespace walferry
