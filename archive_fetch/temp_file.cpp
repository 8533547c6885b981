#include "archive_fetch/temp_file.h"

#include <fcntl.h>

#include <algorithm>
#include <ctime>

#include "base/unique_fd.h"

namespace walferry {

namespace {

constexpr std::string_view kTempInfix = ".walferry-tmp.";
constexpr int kRandomLength = 6;

}  // namespace

bool is_temp_file_name(std::string_view name) noexcept {
    if (name.size() <= kTempInfix.size() + kRandomLength) return false;  // a target name first
    std::string_view random = name.substr(name.size() - kRandomLength);
    std::string_view infix =
        name.substr(name.size() - kRandomLength - kTempInfix.size(), kTempInfix.size());
    return infix == kTempInfix && std::all_of(random.begin(), random.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
           });
}

TempName temp_name_next_to(const std::string& target) {
    return {target + std::string(kTempInfix), kRandomLength, 0600, true};
}

void remove_stale_temps_next_to(const std::string& target) noexcept {
    const std::size_t slash = target.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : target.substr(0, slash + 1);
    UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) return;
    remove_stale_temps(dirfd.get(), is_temp_file_name, std::time_t{kStaleTempMinutes} * 60, true);
}

}  // namespace walferry
