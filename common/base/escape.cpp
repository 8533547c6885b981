#include "base/escape.h"

namespace walferry {

std::string escape_bytes(std::string_view raw, std::size_t max_bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (char c : raw.substr(0, max_bytes)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\' && c != '"') {
            out.push_back(c);
        } else {
            out += "\\x";
            out.push_back(kDigits[u >> 4]);
            out.push_back(kDigits[u & 0x0f]);
        }
    }
    if (raw.size() > max_bytes) out += "...";
    return out;
}

}  // namespace walferry
