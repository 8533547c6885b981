// open_remote_store with the backends linked into the executable (remote_store.h).
#include "cli/remote_store.h"
#include "store/s3/s3_store.h"
#include "store/sftp/sftp_store.h"

namespace walferry {

std::unique_ptr<Store> open_remote_store(const Destination& destination) {
    if (destination.location.scheme == Location::Scheme::kS3) {
        return std::make_unique<S3Store>(destination);
    }
    return std::make_unique<SftpStore>(destination);
}

}  // namespace walferry
