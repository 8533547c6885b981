// The one entry point of a store backend built as a loadable module (the sftp:// and s3://
// backends: lib/walferry/store-sftp.so, store-s3.so; cli/store_modules.cpp loads them only when a
// call opens such a store, so a call that does not pays nothing for libssh2 or libcurl).
//
// A module holds only its backend's own code. Everything else it uses (walferry::Error, Store,
// Destination, the archive container, ...) it takes from the executable that loads it, which
// exports those symbols (cmake/walferry_exports.list): one copy of each class, so exceptions,
// RTTI and UBSan's vptr check see the same type_info objects on both sides, and no state is
// duplicated. A module therefore only fits the build it came from: `abi` names that build
// (version, compiler, flags and a hash of the headers both sides compile against) and the loader
// refuses any other before it calls anything else of the module.
#pragma once

#include <memory>

#include "store/destination.h"
#include "store/store.h"

namespace walferry {

struct StoreModule {
    // Always the first member, whatever else changes: the loader reads it from a module of any
    // build. kStoreModuleAbi (store/module_abi.h, generated) of the build that made the module.
    const char* abi;
    // "sftp", "s3": the scheme it serves, for messages.
    const char* scheme;
    // The store for `destination` (of this module's scheme). Throws walferry::Error as the
    // backend's constructor does; does no I/O.
    std::unique_ptr<Store> (*open)(const Destination& destination);
};

// `open` of the module of Backend (a Store constructed from a Destination).
template <typename Backend>
std::unique_ptr<Store> open_backend(const Destination& destination) {
    return std::make_unique<Backend>(destination);
}

}  // namespace walferry

// Every module defines it (and exports nothing else).
extern "C" const walferry::StoreModule* walferry_store_module();
inline constexpr const char* kStoreModuleEntry = "walferry_store_module";
