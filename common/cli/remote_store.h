// The store of an sftp:// or s3:// destination. Two implementations, chosen when an executable
// is linked (cmake/walferry_command.cmake): store_modules.cpp loads the backend's module the
// first time a call needs it (the commands: no libssh2 or libcurl in a call that uses neither);
// linked_stores.cpp calls the backends linked in (the unit tests and test tools, and
// walferry-cleanup while it still names SftpStore and S3Store itself).
#pragma once

#include <memory>

#include "store/destination.h"
#include "store/store.h"

namespace walferry {

// `destination.location` is sftp:// or s3://. Throws Error(kUnsupported) if the backend's module
// cannot be loaded or is not one of this build.
std::unique_ptr<Store> open_remote_store(const Destination& destination);

}  // namespace walferry
