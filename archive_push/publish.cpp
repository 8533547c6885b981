#include "archive_push/publish.h"

#include "base/error.h"

namespace walferry {

namespace {

// Reads the stored copy back whole (decompressed, size and SHA-256 checked against its
// metadata): intact metadata over a truncated or damaged payload must not pass for the file, or
// PostgreSQL would recycle the only good copy. Only on the rare "already there" path (a retry),
// so a download over SFTP is affordable there.
void verify_stored(Store& store, const std::string& stored_name) {
    ContainerReader reader([](std::span<const std::uint8_t>) {});
    try {
        bool found =
            store.get(stored_name, [&](std::span<const std::uint8_t> c) { reader.feed(c); });
        if (!found) {
            throw Error(ErrorCode::kInternal, "\"" + stored_name + "\" vanished from " +
                                                  store.describe() + " while read back");
        }
        reader.finish();
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kChecksumMismatch && e.code() != ErrorCode::kInvalidContainer)
            throw;
        throw Error(e.code(), "\"" + stored_name + "\" already exists in " + store.describe() +
                                  " with this file's metadata but is damaged (" + e.what() +
                                  "); left untouched: move it away or restore it so that this "
                                  "WAL file can be archived");
    }
}

// nullopt if the store has no file under the name; otherwise whether it is identical.
std::optional<PublishOutcome> compare_stored(Store& store, const PreparedWal& wal,
                                             const std::string& stored_name) {
    std::optional<ObjectStat> stat = store.stat(stored_name, kMetaReadSize);
    if (!stat) return std::nullopt;
    ContainerMeta stored;
    try {
        std::size_t frame_size = 0;
        stored = decode_meta_frame(stat->head, frame_size);
    } catch (const Error& e) {
        throw Error(ErrorCode::kInvalidContainer, "\"" + stored_name + "\" already exists in " +
                                                      store.describe() + " but is not readable (" +
                                                      e.what() + "); left untouched");
    }
    const ContainerMeta& ours = wal.file.meta;
    if (stored.sha256 != ours.sha256 || stored.raw_size != ours.raw_size ||
        stored.name != ours.name) {
        throw Error(ErrorCode::kConflict,
                    "\"" + stored_name + "\" already exists in " + store.describe() +
                        " with different content: stored sha256 " + to_hex(stored.sha256) +
                        ", new sha256 " + to_hex(ours.sha256) + "; left untouched");
    }
    verify_stored(store, stored_name);
    // The name may be there undurably (a push killed before its directory fsync): answer for it
    // only once it is synced, as a fresh put would be.
    store.sync(stored_name);
    return PublishOutcome::kAlreadyPresent;
}

}  // namespace

PublishOutcome Publisher::publish(const PreparedWal& wal, bool look_first) {
    Store& store = store_;
    if (wal.cluster && checked_ != wal.cluster) {
        ensure_archive_info(store, *wal.cluster);
        checked_ = wal.cluster;
    }
    const std::string stored_name = wal.name.archive_file_name();
    if (look_first) {
        if (auto outcome = compare_stored(store, wal, stored_name)) return *outcome;
    }
    const std::span<const std::uint8_t> parts[] = {wal.file.meta_frame, wal.file.payload};
    if (store.put(stored_name, parts)) return PublishOutcome::kStored;
    // Another pusher published the name between our stat and put: compare with what won.
    if (auto outcome = compare_stored(store, wal, stored_name)) return *outcome;
    throw Error(ErrorCode::kInternal,
                "\"" + stored_name + "\" vanished from " + store.describe() + " while pushing");
}

}  // namespace walferry
