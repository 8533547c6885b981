#include "unreachable.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <system_error>
#include <filesystem>

#include "unique_fd.h"

namespace walferry {

namespace {

std::string note_path(const Spool& spool, const std::string& name) {
    return spool.dir() + "/unreachable/" + destination_key(name);
}

}  // namespace

std::vector<std::optional<std::int64_t>> unreachable_ages(const Spool& spool,
                                                          const std::vector<std::string>& names) {
    std::vector<std::optional<std::int64_t>> ages;
    const std::int64_t now = std::time(nullptr);
    for (const std::string& name : names) {
        struct stat st {};
        if (::stat(note_path(spool, name).c_str(), &st) == 0)
            ages.emplace_back(std::max<std::int64_t>(0, now - st.st_mtim.tv_sec));
        else
            ages.emplace_back(std::nullopt);
    }
    return ages;
}

void note_unreachable(const Spool& spool, const std::string& name) {
    std::error_code ec;
    std::filesystem::create_directories(spool.dir() + "/unreachable", ec);
    const std::string path = note_path(spool, name);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (fd) ::futimens(fd.get(), nullptr);  // now
}

void note_reachable(const Spool& spool, const std::string& name) {
    ::unlink(note_path(spool, name).c_str());
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
