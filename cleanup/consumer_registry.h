// Cleanup consumers recorded inside a local archive, so that several standbys (and --prune)
// sharing one archive remove only what none of them still needs.
//
//   <archive>/.walferry-cleanup/consumers/<NAME>   cutoff = "<24 hex>"  updated = <unix time>
//   <archive>/.walferry-cleanup/lock               flock()ed while recording and removing
//
// The folder starts with '.', which no WAL name does, and stores skip dot-names when listing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wal/wal_name.h"

namespace walferry {

inline constexpr std::string_view kCleanupStateDir = ".walferry-cleanup";

struct ConsumerRecord {
    std::string name;
    WalName cutoff;            // kSegment
    std::int64_t updated = 0;  // unix time of the last record
};

// Throws Error(kUsage) unless `name` is 1..64 of [A-Za-z0-9_.-] and does not start with '.'.
void check_consumer_name(std::string_view name);

// Where one archive's records live, and its cleanup lock, held from construction to
// destruction. Local archives: files and flock(); SFTP archives: sftp_consumer_store.h.
class ConsumerStore {
  public:
    virtual ~ConsumerStore() = default;
    // False when the archive has no cleanup state (and so no consumers, and no lock was taken).
    virtual bool has_state() const = 0;
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

// The temporary name NAME's record is written under: ".NAME.tmp".
std::string consumer_temp_name(std::string_view name);

class ConsumerRegistry {
  public:
    // A local archive: takes the archive's cleanup lock (blocking), so that concurrent cleanups
    // (one per standby) decide and remove one after the other. The state folder is created when
    // `create`; otherwise an archive without one simply has no consumers (and no lock is taken:
    // a dry run or a drop-in call writes nothing into the archive).
    ConsumerRegistry(const std::string& archive_dir, bool create);
    // Any archive, through its (locked) store.
    explicit ConsumerRegistry(std::unique_ptr<ConsumerStore> store);

    // Every recorded consumer, sorted by name. A damaged record -> Error(kInvalidState):
    // cleanup never decides on partial knowledge. A complete temp record without its final
    // name (a writer stopped between replacing and renaming) counts as the record.
    std::vector<ConsumerRecord> load() const;

    // Writes NAME's record atomically (ConsumerStore::publish).
    void record(const std::string& name, const WalName& cutoff, std::int64_t now) const;

    // Removes NAME's record; false if there was none.
    bool forget(const std::string& name) const;

  private:
    std::unique_ptr<ConsumerStore> store_;
};

}  // namespace walferry
