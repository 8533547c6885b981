#include "archive/spool_layout.h"

#include "archive/sha256.h"

namespace walferry {

namespace {

constexpr std::size_t kMaxKey = 200;

}  // namespace

std::string destination_key(const std::string& name) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string key;
    for (unsigned char c : name) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '-') {
            key += static_cast<char>(c);
        } else {
            key += '%';
            key += kHex[c >> 4];
            key += kHex[c & 15];
        }
    }
    if (key.empty() || key.size() > kMaxKey) {
        auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
        key = "sha256-" + to_hex(sha256(bytes));
    }
    return key;
}

}  // namespace walferry
