// Where an archive's cleanup consumers are recorded, seen by the backend that holds them: the
// storage side of ConsumerRegistry (archive/consumer_registry.h, which owns the record format).
// Every backend keeps them in its archive, beside the WAL files:
//
//   <archive>/.walferry-cleanup/consumers/<NAME>   one record per consumer
//   <archive>/.walferry-cleanup/<lock>             the backend's cleanup lock
//
// The folder starts with '.', which no WAL name does, and stores skip dot-names when listing.
// A Store hands out its own (Store::consumers): local archives (local_consumer_store.h), SFTP
// (sftp/sftp_consumer_store.h) and S3 (s3/s3_consumer_store.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walferry {

inline constexpr std::string_view kCleanupStateDir = ".walferry-cleanup";

// How a command opens an archive's consumer records.
enum class ConsumerAccess {
    // Read only, without the cleanup lock, creating nothing (walferry-status: it never writes
    // into an archive). The records may change meanwhile; ConsumerRegistry::load() copes.
    kRead,
    // The cleanup lock, held from opening to destruction, if the archive has cleanup state;
    // an archive without it simply has no consumers (and nothing is written into it).
    kLock,
    // The state folder created if missing, then the lock (a cleanup that records a consumer).
    kCreate,
};

// One archive's records, and (kLock, kCreate) its cleanup lock, held until destruction.
class ConsumerStore {
  public:
    virtual ~ConsumerStore() = default;
    // False when the archive has no cleanup state (and so no consumers, and no lock was taken).
    virtual bool has_state() const = 0;
    // Whether this store holds the archive's cleanup lock (no other cleanup writes meanwhile).
    virtual bool locked() const = 0;
    // Names in the consumers folder, '.'-names (temp files of record()) included, "." and ".."
    // not.
    virtual std::vector<std::string> entries() = 0;
    // Content of an entry, cut after max_bytes + 1 bytes; nullopt if it does not exist.
    virtual std::optional<std::string> read(const std::string& entry, std::size_t max_bytes) = 0;
    // Writes `text` durably to `temp`, then makes it `name`, replacing the old record such that
    // at every moment `name` or the complete `temp` holds a record.
    virtual void publish(const std::string& temp, const std::string& name,
                         const std::string& text) = 0;
    // Removes an entry; false if it did not exist.
    virtual bool remove(const std::string& entry) = 0;
    // The entry's path or URL, for messages.
    virtual std::string where(const std::string& entry) const = 0;
};

}  // namespace walferry
