#include "store.h"

#include "error.h"

namespace walferry {

namespace {

// Names reach stores from the command line and from remote listings: show them escaped.
std::string escaped(std::string_view raw) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (char c : raw.substr(0, 300)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\' && c != '"') {
            out.push_back(c);
        } else {
            out += "\\x";
            out.push_back(kDigits[u >> 4]);
            out.push_back(kDigits[u & 0x0f]);
        }
    }
    if (raw.size() > 300) out += "...";
    return out;
}

}  // namespace

void check_object_name(std::string_view name) {
    auto refuse = [&](const char* why) {
        throw Error(ErrorCode::kInvalidName,
                    "invalid archive file name \"" + escaped(name) + "\": " + why);
    };
    if (name.empty()) refuse("empty");
    if (name.size() > 255) refuse("longer than 255 bytes");
    if (name.find('/') != std::string_view::npos) refuse("contains '/'");
    if (name.find('\0') != std::string_view::npos) refuse("contains NUL");
    if (name == "." || name == "..") refuse("not a file name");
    if (name.front() == '.') refuse("starts with '.', which is reserved for temporary files");
}

}  // namespace walferry
