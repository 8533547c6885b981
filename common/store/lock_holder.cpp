#include "store/lock_holder.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <ctime>

#include "base/escape.h"

namespace walferry {

namespace {

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

std::string utc_time(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    char buf[32];
    if (!::gmtime_r(&tt, &tm) ||
        std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        return std::to_string(t);
    }
    return buf;
}

}  // namespace

std::string describe_lock_holder(std::string_view content) {
    std::string host, pid, time;
    while (!content.empty()) {
        std::string_view line = content.substr(0, content.find('\n'));
        content.remove_prefix(std::min(content.size(), line.size() + 1));
        if (line.starts_with("host=")) host = escape_bytes(line.substr(5), 80);
        if (line.starts_with("pid=")) pid = escape_bytes(line.substr(4), 20);
        if (line.starts_with("time=")) time = escape_bytes(line.substr(5), 20);
    }
    if (host.empty() && pid.empty()) return "an unknown holder";
    std::string out = "host " + (host.empty() ? "?" : host) + ", pid " + (pid.empty() ? "?" : pid);
    std::int64_t t = 0;
    bool numeric = !time.empty() && time.size() < 19 &&
                   time.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) t = std::stoll(time);
    return numeric ? out + ", since " + utc_time(t) : out;
}

std::string lock_holder_record() {
    return "host=" + host_name() + "\npid=" + std::to_string(::getpid()) +
           "\ntime=" + std::to_string(std::time(nullptr)) + "\n";
}

}  // namespace walferry
