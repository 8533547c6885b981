#include "unreachable.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <numeric>
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
    std::vector<std::size_t> order(ages.size());
    std::iota(order.begin(), order.end(), 0);
    std::erase_if(order, [&](std::size_t i) {
        return !ages[i] || *ages[i] >= kRetryUnreachableAfterS;
    });
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return *ages[a] < *ages[b]; });
    std::size_t tried = ages.size();
    for (std::size_t i : order) {
        if (tried <= static_cast<std::size_t>(std::max(required, 1))) break;
        skip[i] = true;
        --tried;
    }
    return skip;
}

}  // namespace walferry
