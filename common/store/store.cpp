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

std::vector<ListedFile> Store::list_files() {
    std::vector<ListedFile> files;
    for (std::string& name : list()) {
        std::optional<ObjectStat> st = stat(name, 0);
        if (!st) continue;  // removed since the listing
        files.push_back(ListedFile{std::move(name), st->size, st->mtime});
    }
    return files;
}

std::unique_ptr<ConsumerStore> Store::consumers(ConsumerAccess /*access*/, int /*lock_wait_s*/) {
    throw Error(ErrorCode::kUnsupported,
                "\"" + describe() + "\" cannot hold cleanup consumer records");
}

}  // namespace walferry
