// The destinations' side of one push: every destination in a thread of its own, over one store
// (one SSH session for sftp://) from the opener, sends its backlog oldest first, then each file
// of the batch in order as the queue hands it over. What each one did is returned for settling
// (push.cpp): nothing here decides whether the push succeeded.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "archive/container.h"
#include "archive_push/backlog.h"
#include "archive_push/prepared_queue.h"
#include "archive_push/publish.h"
#include "archive_push/spool.h"
#include "base/error.h"
#include "cli/open_store.h"

namespace walferry {

// One file in one destination: stored (or found identical), or why not.
struct FileResult {
    std::optional<PublishOutcome> outcome;
    std::optional<Error> error;
};

// What one destination's thread did.
struct DestinationRun {
    const Destination* destination = nullptr;
    std::optional<DrainResult> drain;
    std::optional<Error> spool_error;  // its backlog could not be read
    std::vector<FileResult> files;     // one per file of the batch (queue->capacity())
};

// Runs every destination in its own thread and waits for all. A failure to reach one (or one
// that stops answering) fails its files not tried yet and is noted in the spool as unreachable;
// a refusal (is_refusal) fails only that file. `queue` null: only the backlogs (--drain).
// `skip_ages`: for each destination this push leaves alone, how long ago it failed (its files
// fail "not tried", nothing is asked of it); empty: none.
std::vector<DestinationRun> push_to_destinations(
    const std::vector<Destination>& destinations, const Spool& spool,
    const CompressOptions& compress, const StoreOpener& opener, PreparedQueue* queue,
    const std::vector<std::optional<std::int64_t>>& skip_ages);

}  // namespace walferry
