// open_remote_store by loading the backend's module the first time a call needs it
// (remote_store.h; the module's side: store/store_module.h).
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/escape.h"
#include "cli/remote_store.h"
#include "store/module_abi.h"
#include "store/store_module.h"

#ifndef WALFERRY_MODULE_DIR
#error "WALFERRY_MODULE_DIR: where the modules are, relative to the executable's directory"
#endif

namespace walferry {

namespace {

// The directory of the running executable, from /proc/self/exe. Never from the environment or
// the current directory: these programs run as the postgres user from archive_command, and a
// module path that someone else can steer runs their code.
std::string executable_dir() {
    std::string path(PATH_MAX, '\0');
    const ssize_t n = readlink("/proc/self/exe", path.data(), path.size());
    if (n <= 0 || static_cast<std::size_t>(n) >= path.size()) {
        throw Error(ErrorCode::kUnsupported,
                    "cannot find the running program: readlink(\"/proc/self/exe\"): " +
                        errno_text(n < 0 ? errno : ENAMETOOLONG));
    }
    path.resize(static_cast<std::size_t>(n));
    return path.substr(0, path.rfind('/'));
}

// dlerror() without the file name it starts with (the message names the file already).
std::string dl_error(const std::string& path) {
    const char* e = dlerror();
    std::string text = e != nullptr ? e : "unknown error";
    if (text.starts_with(path + ": ")) text.erase(0, path.size() + 2);
    return text;
}

struct DlClose {
    void operator()(void* handle) const noexcept { dlclose(handle); }
};
using ModuleHandle = std::unique_ptr<void, DlClose>;

// The module's StoreModule if it is one of this build for `scheme`; Error(kUnsupported)
// otherwise. Nothing of the module but its entry point is called before its ABI matched.
const StoreModule& checked_entry(void* handle, const std::string& scheme, const std::string& path,
                                 const std::string& what) {
    auto* entry = reinterpret_cast<const StoreModule* (*)()>(dlsym(handle, kStoreModuleEntry));
    if (entry == nullptr) {
        throw Error(ErrorCode::kUnsupported,
                    what + " is no walferry store module: " + dl_error(path));
    }
    const StoreModule* module = entry();
    const char* abi = module != nullptr ? module->abi : nullptr;
    if (abi == nullptr || std::string_view(abi) != kStoreModuleAbi) {
        throw Error(ErrorCode::kUnsupported,
                    what + " belongs to another walferry build (built as \"" +
                        (abi != nullptr ? escape_bytes(abi, 100) : std::string()) +
                        "\", this program as \"" + kStoreModuleAbi + "\")");
    }
    if (module->scheme == nullptr || module->scheme != scheme || module->open == nullptr) {
        throw Error(ErrorCode::kUnsupported, what + " does not serve " + scheme + "://");
    }
    return *module;
}

// The module of `scheme` ("sftp", "s3") loaded and checked; Error(kUnsupported) naming the file
// otherwise. The handle stays open until the process ends (the stores' code lives in it).
const StoreModule& load_module(const std::string& scheme) {
    // /proc/self/exe has no symbolic link left in it: "bin/.." is the directory above bin.
    const std::string path =
        std::filesystem::path(executable_dir() + "/" WALFERRY_MODULE_DIR "/store-" + scheme + ".so")
            .lexically_normal()
            .string();
    const std::string what = "the " + scheme + ":// backend \"" + path + "\"";
    ModuleHandle handle(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (handle == nullptr) {
        throw Error(ErrorCode::kUnsupported, "cannot load " + what + ": " + dl_error(path));
    }
    const StoreModule& module = checked_entry(handle.get(), scheme, path, what);
    static_cast<void>(handle.release());  // never closed: see above
    return module;
}

// Each module loaded once per process; a failed load is tried again by the next call (it throws
// each time, so a command gives up at the first).
const StoreModule& module_for(const std::string& scheme) {
    static std::mutex mutex;
    static std::map<std::string, const StoreModule*, std::less<>> loaded;
    const std::lock_guard lock(mutex);
    auto it = loaded.find(scheme);
    if (it == loaded.end()) it = loaded.emplace(scheme, &load_module(scheme)).first;
    return *it->second;
}

}  // namespace

std::unique_ptr<Store> open_remote_store(const Destination& destination) {
    const bool s3 = destination.location.scheme == Location::Scheme::kS3;
    return module_for(s3 ? "s3" : "sftp").open(destination);
}

}  // namespace walferry
