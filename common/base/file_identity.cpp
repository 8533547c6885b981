#include "base/file_identity.h"

#include <charconv>
#include <vector>

namespace walferry {

namespace {

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
    if (text.empty()) return false;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

FileIdentity identity_from(const struct stat& st) {
    return FileIdentity{static_cast<std::uint64_t>(st.st_dev),
                        static_cast<std::uint64_t>(st.st_ino),
                        static_cast<std::uint64_t>(st.st_size),
                        st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec,
                        st.st_ctim.tv_sec * 1000000000ll + st.st_ctim.tv_nsec};
}

std::optional<FileIdentity> identity_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return identity_from(st);
}

std::string format_identity(const FileIdentity& id) {
    return std::to_string(id.dev) + ":" + std::to_string(id.ino) + ":" + std::to_string(id.size) +
           ":" + std::to_string(id.mtime_ns) + ":" + std::to_string(id.ctime_ns);
}

std::optional<FileIdentity> parse_identity(std::string_view text) {
    std::vector<std::string_view> parts;
    for (;;) {
        std::size_t colon = text.find(':');
        parts.push_back(text.substr(0, colon));
        if (colon == std::string_view::npos) break;
        text.remove_prefix(colon + 1);
    }
    FileIdentity id;
    if (parts.size() != 5 || !parse_int(parts[0], id.dev) || !parse_int(parts[1], id.ino) ||
        !parse_int(parts[2], id.size) || !parse_int(parts[3], id.mtime_ns) ||
        !parse_int(parts[4], id.ctime_ns)) {
        return std::nullopt;
    }
    return id;
}

}  // namespace walferry
