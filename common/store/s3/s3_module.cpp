// The s3:// backend as a loadable module (store-s3.so): store_module.h.
#include "store/module_abi.h"
#include "store/s3/s3_store.h"
#include "store/store_module.h"

namespace {
constexpr walferry::StoreModule kModule{walferry::kStoreModuleAbi, "s3",
                                        &walferry::open_backend<walferry::S3Store>};
}  // namespace

extern "C" const walferry::StoreModule* walferry_store_module() {
    return &kModule;
}
