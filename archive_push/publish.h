// Putting one prepared WAL file into one store, under the never-overwrite rule.
#pragma once

#include "store.h"
#include "wal_file.h"

namespace walferry {

enum class PublishOutcome {
    kStored,          // written now
    kAlreadyPresent,  // the store already held identical content (same SHA-256 and size)
};

// Checks walferry.info for segments (creating it on the first push), then stores the file unless
// the same name is already there. Same name with other content -> Error(kConflict) naming both
// SHA-256s; the stored file is never touched. A stored file whose metadata cannot be read ->
// Error(kInvalidContainer), also untouched.
PublishOutcome publish(Store& store, const PreparedWal& wal);

}  // namespace walferry
