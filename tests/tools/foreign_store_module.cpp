// Test support: a store module of "another build" (store_modules_test.sh): the entry point a
// module has, with an ABI no build of walferry has. The loader must refuse it before it calls
// anything else of it.
#include "store/store_module.h"

namespace {

constexpr walferry::StoreModule kModule{"walferry-0.0.0-foreignbuild0000", "sftp", nullptr};

}  // namespace

extern "C" const walferry::StoreModule* walferry_store_module() {
    return &kModule;
}
