#include "store/store.h"

#include "base/error.h"
#include "base/escape.h"

namespace walferry {

void check_object_name(std::string_view name) {
    auto refuse = [&](const char* why) {
        throw Error(ErrorCode::kInvalidName,
                    "invalid archive file name \"" + escape_bytes(name) + "\": " + why);
    };
    if (name.empty()) refuse("empty");
    if (name.size() > 255) refuse("longer than 255 bytes");
    if (name.find('/') != std::string_view::npos) refuse("contains '/'");
    if (name.find('\0') != std::string_view::npos) refuse("contains NUL");
    if (name == "." || name == "..") refuse("not a file name");
    if (name.front() == '.') refuse("starts with '.', which is reserved for temporary files");
}

}  // namespace walferry
