// What walferry-cleanup says about its decisions: with -n every decision on stdout
// ("remove NAME: reason" / "keep NAME: reason") and a summary line; with -d each removal and the
// summary on stderr; otherwise nothing, like pg_archivecleanup.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "store/store.h"
#include "wal/cleanup_rules.h"

namespace walferry {

class CleanupReport {
  public:
    CleanupReport(Store& store, bool dry_run, bool debug)
        : store_(store), dry_run_(dry_run), debug_(debug) {}

    void note(const std::string& stored, const CleanupDecision& decision);

    // True if `stored` was modified after `threshold` (unix time).
    bool younger_than(const std::string& stored, std::int64_t threshold);

    // Prints the summary (files and bytes by decision and category) when -n or -d.
    void finish();

  private:
    struct Tally {
        std::uint64_t files = 0;
        std::uint64_t bytes = 0;
    };
    Store& store_;
    bool dry_run_;
    bool debug_;
    std::map<std::pair<bool, std::string>, Tally> tallies_;  // (removed, category)
};

}  // namespace walferry
