// Everything walferry-status found, and what it means for a monitoring plugin: each finding
// with its level, the worst one the exit status. Filled by status.cpp, rendered by render.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "archive/archive_info.h"
#include "status/archive_model.h"

namespace walferry {

enum class Level { kOk = 0, kWarning = 1, kCritical = 2 };

std::string_view level_name(Level level) noexcept;  // "OK", "WARNING", "CRITICAL"

struct Finding {
    Level level = Level::kOk;
    std::string destination;  // empty when it is about no one destination
    std::string message;
};

struct DamagedFile {
    std::string file;
    std::string message;
};

struct VerifyResult {
    std::uint64_t files = 0;
    std::uint64_t stored_bytes = 0;
    std::vector<DamagedFile> damaged;  // damaged or unreadable
};

// A cleanup consumer recorded in a destination (archive/consumer_registry.h), read without the
// cleanup lock.
struct ConsumerReport {
    std::string name;
    std::string cutoff;        // the oldest segment it still needs
    std::int64_t updated = 0;  // unix time of its last record
};

struct DestinationReport {
    std::string name;
    std::string url;
    std::optional<std::string> unreachable;  // why it could not be listed
    std::optional<ArchiveInfo> info;
    ArchiveContents contents;
    std::vector<std::string> missing;         // held by another destination, not by this one
    std::vector<std::string> history_errors;  // .history files that could not be read
    std::optional<VerifyResult> verify;
    std::vector<ConsumerReport> consumers;       // sorted by name
    std::optional<std::string> consumers_error;  // the records could not be read (one line)
};

struct BacklogReport {
    std::string destination;
    std::uint64_t files = 0;
    std::uint64_t bytes = 0;
    std::optional<std::int64_t> oldest_age_seconds;
};

struct SpoolReport {
    std::string dir;
    bool exists = false;
    std::vector<BacklogReport> backlogs;                           // one per configured destination
    std::vector<std::pair<std::string, std::int64_t>> left_alone;  // destination, seconds ago
    std::uint64_t prefetch_entries = 0;
    std::vector<std::string> damage_notes;  // as the next fetch prints them
};

struct DestinationLag {
    std::string destination;
    std::optional<std::string> last;  // newest segment it holds on the server's timeline
    std::int64_t segments = 0;
    std::uint64_t bytes = 0;
    std::int64_t seconds = 0;  // age of that segment (0 when up to date)
};

struct ServerReport {
    std::string name;
    std::optional<std::string> error;  // could not be asked
    bool in_recovery = false;
    std::string current_wal;  // pg_walfile_name(pg_current_wal_lsn())
    std::string last_archived_wal;
    std::optional<std::int64_t> last_archived_age_seconds;
    std::string last_failed_wal;
    std::optional<std::int64_t> last_failed_age_seconds;
    std::int64_t failed_count = 0;
    std::vector<DestinationLag> lags;
    std::optional<std::string> switched_to;   // --switch: the segment pg_switch_wal() closed
    std::vector<std::string> switch_lacking;  // destinations that did not get it in time
};

struct Thresholds {
    std::int64_t warn_lag = 0;
    std::int64_t crit_lag = 0;
    std::int64_t stale_consumer_seconds = 0;  // 0: no consumer is ever stale
};

// Whether a consumer last recorded at `updated` is stale at `now`: not updated for longer than
// `limit` seconds (0: never). A record from the future (another host's clock) is not stale.
bool consumer_stale(std::int64_t updated, std::int64_t now, std::int64_t limit) noexcept;

struct StatusReport {
    std::int64_t now = 0;
    std::uint64_t seg_size = 0;
    std::string raw_bytes_source = "segment_size_times_count";
    std::vector<DestinationReport> destinations;
    std::map<std::uint32_t, TimelineNode> tree;
    std::optional<SpoolReport> spool;
    std::vector<ServerReport> servers;
    Thresholds thresholds;
    std::vector<Finding> findings;  // filled by assess()

    Level level() const noexcept;
};

// Findings from what was found: CRITICAL for an unreachable destination, a gap, a damaged file,
// a timeline without its .history, an archive without walferry.info that holds files, a server
// that could not be asked, lag over crit_lag, a --switch segment missing; WARNING for a backlog,
// a destination left alone, files missing on one destination, lag over warn_lag, archiving
// failures newer than the last success, a stale cleanup consumer, consumer records that cannot
// be read (a damaged one stops every cleanup of that archive: nothing is lost, but the archive
// grows until it is mended).
void assess(StatusReport& report);

}  // namespace walferry
