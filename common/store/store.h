// Storage interface: one archive (a flat directory of files) at one location. Implementations:
// FileStore (file://) here, SftpStore (sftp://), S3Store (s3://), and an in-memory one in tests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/consumer_store.h"

namespace walferry {

struct ObjectStat {
    std::uint64_t size = 0;
    std::vector<std::uint8_t> head;  // the first min(size, head_bytes) bytes
    std::int64_t mtime = 0;          // last modification, unix time (0 where unknown)
};

// One name of a listing with what the listing itself tells about it (no read of the file).
struct ListedFile {
    std::string name;
    std::uint64_t size = 0;
    std::int64_t mtime = 0;  // unix time, 0 where unknown
};

using ByteParts = std::span<const std::span<const std::uint8_t>>;
using ByteSink = std::function<void(std::span<const std::uint8_t>)>;

class Store {
  public:
    virtual ~Store() = default;

    // Human-readable location for messages, e.g. "file:///var/lib/pgarchive".
    virtual std::string describe() const = 0;

    // Connects now rather than at the first operation (remote stores connect lazily), so that a
    // caller can overlap the handshake with other work. Throws what that first operation would.
    virtual void warm_up() {}

    // Stores the concatenation of `parts` under `name` durably: a temporary name in the same
    // directory, data synced, then published under `name` without ever replacing an existing
    // file, then the directory synced. Returns false (and leaves everything as it was) if `name`
    // already exists. Throws Error on failure; a failure never leaves a partial file under `name`.
    virtual bool put(std::string_view name, ByteParts parts) = 0;

    // Makes the existing file `name` durable as put() leaves a file it published: its data and
    // its name synced (a put() killed between publishing the name and syncing the directory
    // leaves a name that a crash could still lose). Throws Error on failure, also if `name` does
    // not exist.
    virtual void sync(std::string_view name) = 0;

    // "Does not exist" below (nullopt, false) means: the archive directory answered and has no
    // such file. A missing archive directory is an error (Error(kIo)), on every backend.

    // Size and first bytes of `name`, or nullopt if it does not exist.
    virtual std::optional<ObjectStat> stat(std::string_view name, std::size_t head_bytes) = 0;

    // Streams the whole content of `name` into `sink`. Returns false if it does not exist.
    virtual bool get(std::string_view name, const ByteSink& sink) = 0;

    // Names of the files at the root, walferry's temporary files and subdirectories excluded.
    virtual std::vector<std::string> list() = 0;

    // list() with each file's size and mtime. Backends whose listing carries them (a directory
    // read with fstatat, SFTP's readdir attributes) override it; this default stats each name.
    virtual std::vector<ListedFile> list_files();

    // Removes `name`; returns false if it did not exist.
    virtual bool remove(std::string_view name) = 0;

    // Removes those of `names` that exist (cleanup): remove() one by one, or a backend's batch
    // operation (S3's DeleteObjects, 1000 names a request). Throws Error on the first failure;
    // names before it may be gone.
    virtual void remove_all(std::span<const std::string> names) {
        for (const std::string& name : names) remove(name);
    }

    // The archive's cleanup consumer records (store/consumer_store.h), kept by this backend in
    // the archive: kLock and kCreate hold its cleanup lock until the result is destroyed (waiting
    // up to lock_wait_s for a lock that is not a flock()). The result may use this store and must
    // not outlive it. Backends that cannot hold them (the default) throw Error(kUnsupported).
    virtual std::unique_ptr<ConsumerStore> consumers(ConsumerAccess access, int lock_wait_s);
};

// Throws Error(kInvalidName) unless `name` is a plain file name a store may hold: 1..255 bytes,
// no '/', no NUL, not "." or "..", not starting with '.' (reserved for temporary files).
void check_object_name(std::string_view name);

}  // namespace walferry
