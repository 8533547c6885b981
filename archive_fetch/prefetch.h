// Prefetch for walferry-fetch: the spool is looked at before the sources, and after a segment is
// served a detached worker fetches the following ones.
//
// A call for segment S of timeline T:
//   0. damaged copies a worker met and noted in the spool are printed as warnings, once;
//   1. entries made useless by the request are removed (another timeline: all; before S: those);
//   2. S in the spool -> checked and served from there, no network at all; a damaged entry is
//      removed and S is fetched from the sources as if it had not been there; an entry of
//      another cluster than the recovering server's removes every entry;
//   3. once S is served (from anywhere), if at most half of S+1 .. S+depth is in the spool and no
//      worker holds the spool's lock, a worker is started: double fork, new session, stdin,
//      stdout and stderr on /dev/null and every other fd closed, so PostgreSQL (which waits for
//      the command's exit and its output pipe) never waits for it. It fetches the missing
//      segments in order, one store (SSH session) per source, and stops at the first one no
//      source has: not archived yet. A damaged copy it meets is noted in the spool for step 0.
// Prefetch never makes a call fail: an unusable spool only disables it (said with -v).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive_fetch/prefetch_spool.h"
#include "cli/config.h"
#include "cli/open_store.h"
#include "wal/wal_name.h"

namespace walferry {

class Prefetcher {
  public:
    // nullopt when prefetch is off (`[fetch] prefetch = 0`), when every source is local (a local
    // archive answers as fast as the spool would), when the recovering server's system
    // identifier `server_sysid` is unknown (no pg_control: the spool could not tell its
    // cluster's entries from another's), or when the spool is not an absolute path or lies
    // inside the data directory of `target_path` (said with `verbose`), or is not walferry's own
    // (spool_dir.h; always said). The worker opens its stores with `opener`.
    static std::optional<Prefetcher> open(const Config& config,
                                          const std::vector<Destination>& sources,
                                          const std::string& target_path,
                                          std::optional<std::uint64_t> server_sysid, bool verbose,
                                          StoreOpener opener);

    // Steps 0, 1 and 2 for segment `name`. True if it was served from the spool (`seg_size` set).
    bool serve(const WalName& name, const std::string& target_path, std::uint64_t& seg_size);

    // Step 3, after segment `name` was served.
    void after_served(const WalName& name, std::uint64_t seg_size);

  private:
    Prefetcher(PrefetchSpool spool, std::vector<Destination> sources, StoreOpener opener, int depth,
               bool verbose);
    void warn(const std::string& message) const;
    void report_damage_notes();

    PrefetchSpool spool_;
    std::vector<Destination> sources_;
    StoreOpener opener_;
    int depth_;
    bool verbose_;
};

// The worker's job, in the detached process: fetch `window` into `spool` from `sources`.
// Entries outside the window or of another cluster and leftover temporary files are removed
// first; each damaged copy (a segment of another cluster is one) met on a source is noted in the
// spool (PrefetchSpool::note_damage) for the next call to print. One store per source, from
// `opener`, serves the whole window; a source that fails otherwise is not asked again.
void fill_spool(PrefetchSpool& spool, const std::vector<Destination>& sources,
                const std::vector<WalName>& window, const StoreOpener& opener);

}  // namespace walferry
