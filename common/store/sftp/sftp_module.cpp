// The sftp:// backend as a loadable module (store-sftp.so): store_module.h.
#include "store/module_abi.h"
#include "store/sftp/sftp_store.h"
#include "store/store_module.h"

namespace {
constexpr walferry::StoreModule kModule{walferry::kStoreModuleAbi, "sftp",
                                        &walferry::open_backend<walferry::SftpStore>};
}  // namespace

extern "C" const walferry::StoreModule* walferry_store_module() {
    return &kModule;
}
