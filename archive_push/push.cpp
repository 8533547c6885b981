#include "archive_push/push.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include "archive_push/backlog.h"
#include "archive_push/batch.h"
#include "archive_push/destination_push.h"
#include "archive_push/prepared_queue.h"
#include "archive_push/publish.h"
#include "archive_push/spool.h"
#include "archive_push/unreachable.h"
#include "archive_push/wal_file.h"
#include "base/error.h"
#include "cli/config.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"

namespace walferry {

namespace {

constexpr std::string_view kTool = "walferry-push";

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// One line, like print_error, but not an error: the push goes on or has succeeded.
void warn(const std::string& message) {
    std::fprintf(stderr, "%s: warning: %s\n", kTool.data(), message.c_str());
}

// What one call works with: the config, the destinations and the rules that follow from them.
struct PushCall {
    Config config;
    std::vector<Destination> destinations;
    std::optional<int> required;  // nullopt: all (also when N is every destination)
    Spool spool;
    CompressOptions compress;
    const StoreOpener& opener;
    bool verbose = false;
};

PushCall prepare_call(const PushOptions& options, const std::string& cwd,
                      const StoreOpener& opener) {
    Config config = load_config(options.config_path, cwd);
    std::vector<Destination> destinations =
        destinations_from(options.destinations, config, cwd, "destination");
    std::optional<int> required = config.required;
    if (required && *required >= static_cast<int>(destinations.size())) required.reset();
    Spool spool(config.spool);
    const CompressOptions compress{options.level.value_or(config.compress_level), config.threads};
    return PushCall{
        std::move(config), std::move(destinations), required, std::move(spool), compress, opener,
        options.verbose};
}

// `queue` null: --drain.
std::vector<DestinationRun> run_all(const PushCall& call, PreparedQueue* queue,
                                    const std::vector<std::optional<std::int64_t>>& skip_ages) {
    return push_to_destinations(call.destinations, call.spool, call.compress, call.opener, queue,
                                skip_ages);
}

std::vector<std::string> names_of(const std::vector<Destination>& destinations) {
    std::vector<std::string> names;
    for (const auto& d : destinations) names.push_back(d.name);
    return names;
}

// Bytes of the files at `paths` (those that can be looked at).
std::uint64_t file_bytes(const std::vector<std::string>& paths) {
    std::uint64_t bytes = 0;
    for (const std::string& path : paths) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) bytes += static_cast<std::uint64_t>(st.st_size);
    }
    return bytes;
}

// With required = N: how long ago each destination left alone by this push failed.
// Only while the backlog has room for what they would miss (every file of the batch, counted
// at its raw size): a push that would fail on the cap tries them instead, in case they are back.
std::vector<std::optional<std::int64_t>> skipped_destinations(
    const PushCall& call, const std::vector<std::string>& paths) {
    if (!call.required) return {};
    std::vector<std::optional<std::int64_t>> ages =
        unreachable_ages(call.spool, names_of(call.destinations));
    std::vector<bool> skip = destinations_to_skip(ages, *call.required);
    const auto skipped = static_cast<std::uint64_t>(std::count(skip.begin(), skip.end(), true));
    if (skipped == 0) return {};
    if (call.spool.backlog_total_bytes() + file_bytes(paths) * skipped >
        call.config.backlog_cap_bytes)
        return {};
    for (std::size_t i = 0; i < ages.size(); ++i) {
        if (!skip[i]) ages[i].reset();
    }
    return ages;
}

void report_drain(const DestinationRun& run, bool verbose) {
    const std::string& name = run.destination->name;
    if (run.spool_error) warn("backlog of \"" + name + "\": " + run.spool_error->what());
    if (!run.drain) return;
    for (const Error& e : run.drain->refused) warn("\"" + name + "\": " + e.what());
    if (verbose && (run.drain->sent > 0 || run.drain->left > 0 || run.drain->taken > 0)) {
        std::string taken = run.drain->taken > 0 ? ", " + std::to_string(run.drain->taken) +
                                                       " sent by another drain meanwhile"
                                                 : "";
        std::fprintf(stderr, "%s: backlog of \"%s\": %d sent, %d left%s\n", kTool.data(),
                     name.c_str(), run.drain->sent, run.drain->left, taken.c_str());
    }
}

// Puts file `i`, which the `failed` runs' destinations missed, into their backlogs, under
// backlog_cap_bytes (`backlog_total`: what the backlogs hold, this call's additions counted).
std::optional<Error> queue_missed(std::size_t i, const PreparedWal& wal, const std::string& source,
                                  const std::vector<const DestinationRun*>& failed,
                                  const PushCall& call, std::uint64_t& backlog_total) {
    const std::uint64_t cap = call.config.backlog_cap_bytes;
    const std::uint64_t adding = wal.file.stored_size() * failed.size();
    if (backlog_total + adding > cap) {
        return Error(ErrorCode::kUnavailable,
                     "\"" + wal.name.wal_file_name() + "\": " + failed[0]->files[i].error->what() +
                         "; the backlog cannot take it (" + std::to_string(backlog_total) + " + " +
                         std::to_string(adding) + " bytes > backlog_cap_bytes " +
                         std::to_string(cap) + ")");
    }
    try {
        for (const auto* run : failed) {
            add_to_backlog(*call.spool.backlog(run->destination->name, true), wal, now_ns(),
                           source);
        }
    } catch (const Error& e) {
        return Error(e.code(),
                     "\"" + wal.name.wal_file_name() + "\" cannot be queued: " + e.what());
    }
    backlog_total += adding;
    for (const auto* run : failed) {
        warn("\"" + run->destination->name + "\": " + run->files[i].error->what() + "; \"" +
             wal.name.wal_file_name() + "\" queued in the backlog");
    }
    return std::nullopt;
}

// Whether file `i` is done: every destination holds it, or `required` do and the others have it
// in their backlog. Otherwise the error to report (refusals first: a conflict is never queued).
// `source`: the file's absolute path, recorded with a backlog entry. `holders`: the destinations
// that hold it.
std::optional<Error> settle(std::size_t i, const PreparedWal& wal, const std::string& source,
                            const std::vector<DestinationRun>& runs, const PushCall& call,
                            std::uint64_t& backlog_total, std::vector<MarkerHolder>& holders) {
    std::vector<const DestinationRun*> failed;
    for (const auto& run : runs) {
        if (run.files[i].outcome)
            holders.push_back({run.destination->name, run.destination->location.url()});
        else
            failed.push_back(&run);
    }
    if (failed.empty()) return std::nullopt;
    for (const auto* run : failed) {
        if (is_refusal(run->files[i].error->code())) return run->files[i].error;
    }
    if (!call.required || static_cast<int>(holders.size()) < *call.required)
        return failed[0]->files[i].error;
    return queue_missed(i, wal, source, failed, call, backlog_total);
}

// -v: where file `i` is now.
void report_stored(const std::vector<DestinationRun>& runs, std::size_t i, const PreparedWal& wal) {
    for (const auto& run : runs) {
        if (!run.files[i].outcome) continue;
        std::fprintf(stderr, "%s: %s %s in %s (%llu bytes, stored %llu)\n", kTool.data(),
                     *run.files[i].outcome == PublishOutcome::kStored ? "stored" : "already had",
                     wal.name.wal_file_name().c_str(), run.destination->name.c_str(),
                     static_cast<unsigned long long>(wal.file.meta.raw_size),
                     static_cast<unsigned long long>(wal.file.stored_size()));
    }
}

// %p was not settled: every destination's own failure is said, the first one as the error.
[[noreturn]] void fail_push(const Error& error, const std::vector<DestinationRun>& runs) {
    for (const auto& run : runs) {
        const auto& e = run.files[0].error;
        if (e && std::string_view(error.what()).find(e->what()) == std::string_view::npos)
            print_error(kTool, e->what());
    }
    throw error;
}

// Records that look-ahead file `wal` is in the `holders`, so that its own call answers at once.
// False if the marker could not be written (said as a warning).
bool mark_ahead(Store& markers, const PreparedWal& wal, const std::vector<MarkerHolder>& holders) {
    try {
        write_marker(markers,
                     BatchMarker{wal.name.wal_file_name(), wal.file.meta.raw_size,
                                 wal.file.meta.sha256, holders, wal.identity, std::time(nullptr)});
        return true;
    } catch (const Error& e) {
        warn("batch marker for \"" + wal.name.wal_file_name() + "\": " + e.what());
        return false;
    }
}

// Settles the files of the batch in order. %p must be settled, or the call fails (and nothing is
// marked ahead); at the first look-ahead file that is not (or cannot be marked) the batch ends:
// it and the later ones stay for their own calls. `sources`: the files' absolute paths.
void settle_batch(const PushCall& call, const std::vector<const PreparedWal*>& files,
                  const std::vector<std::string>& sources, const std::vector<DestinationRun>& runs,
                  Store* markers) {
    std::uint64_t backlog_total = call.spool.backlog_total_bytes();
    for (std::size_t i = 0; i < files.size(); ++i) {
        std::vector<MarkerHolder> holders;
        std::optional<Error> error =
            settle(i, *files[i], sources[i], runs, call, backlog_total, holders);
        if (call.verbose) report_stored(runs, i, *files[i]);
        if (i == 0 && error) fail_push(*error, runs);
        if (error || (i > 0 && !mark_ahead(*markers, *files[i], holders))) return;
    }
}

std::string base_name(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// True if an earlier call pushed this very file ahead into these very destinations, recently
// (marker_covers), and it is the same file (marker_matches_file: unchanged, or the same size and
// SHA-256).
bool answered_by_marker(const PushCall& call, const std::string& wal_path) {
    std::unique_ptr<Store> markers = call.spool.markers(false);
    if (!markers) return false;
    const std::string name = base_name(wal_path);
    WalName parsed;
    if (!try_parse_wal_name(name, parsed) || parsed.compressed) return false;
    std::optional<BatchMarker> marker = read_marker(*markers, name);
    if (!marker) return false;
    bool ok =
        marker_covers(*marker, call.destinations, call.required, std::time(nullptr), call.opener) &&
        marker_matches_file(*marker, wal_path);
    try {
        markers->remove(marker_file_name(name));  // used once, or stale
    } catch (const Error&) {
    }
    return ok;
}

// %p, then the segments after it that archive_status lists as .ready and no marker covers yet,
// in order (none on any doubt). The segment size is %p's file size here; preparing %p checks it
// against the page header, and a wrong one only makes the names wrong, never the files pushed.
std::vector<std::string> batch_paths(const std::string& wal_path, const Config& config,
                                     const Spool& spool, bool verbose,
                                     std::unique_ptr<Store>& markers) {
    std::vector<std::string> paths{wal_path};
    const WalName name = wal_name_of(wal_path);  // a bad name fails the call before anything
    struct stat st {};
    if (config.batch <= 0 || name.kind != WalKind::kSegment || ::stat(wal_path.c_str(), &st) != 0)
        return paths;
    try {
        markers = spool.markers(true);
    } catch (const Error& e) {
        if (verbose) warn("no look-ahead batching: " + std::string(e.what()));
        return paths;
    }
    std::string dir = wal_path.substr(0, wal_path.size() - base_name(wal_path).size());
    for (const WalName& next : look_ahead(name, static_cast<std::uint64_t>(st.st_size),
                                          ready_names(wal_path), config.batch)) {
        try {
            if (markers->stat(marker_file_name(next.wal_file_name()), 0)) break;
        } catch (const Error&) {
            break;
        }
        paths.push_back(dir + next.wal_file_name());
    }
    return paths;
}

int run_drain(const PushCall& call) {
    std::vector<DestinationRun> runs = run_all(call, nullptr, {});
    std::optional<Error> first;
    for (const auto& run : runs) {
        report_drain(run, call.verbose);
        if (run.spool_error && !first) first = run.spool_error;
        if (!run.drain) continue;
        if (run.drain->failure) {
            Error e(run.drain->failure->code(), "backlog of \"" + run.destination->name +
                                                    "\" not sent: " + run.drain->failure->what());
            if (first)
                print_error(kTool, e.what());
            else
                first = e;
        }
        if (!run.drain->refused.empty() && !first) {
            first = Error(run.drain->refused.front().code(),
                          std::to_string(run.drain->refused.size()) + " backlog entries of \"" +
                              run.destination->name + "\" refused");
        }
    }
    if (first) throw *first;
    return 0;
}

std::string absolute(const std::string& path, const std::string& cwd) {
    return path.starts_with('/') ? path : cwd + "/" + path;
}

}  // namespace

int run_push(const PushOptions& options, const StoreOpener& opener) {
    const std::string cwd = current_directory();
    const PushCall call = prepare_call(options, cwd, opener);
    if (options.drain) return run_drain(call);
    call.spool.check_outside_data_dir(options.wal_path);
    if (answered_by_marker(call, options.wal_path)) {
        if (options.verbose) {
            std::fprintf(stderr, "%s: %s was pushed ahead with an earlier file\n", kTool.data(),
                         options.wal_path.c_str());
        }
        return 0;
    }

    std::unique_ptr<Store> markers;
    // The files are read and compressed while the destinations connect.
    const std::vector<std::string> paths =
        batch_paths(options.wal_path, call.config, call.spool, options.verbose, markers);
    PreparedQueue queue(paths, call.compress);
    std::vector<DestinationRun> runs = run_all(call, &queue, skipped_destinations(call, paths));
    if (std::optional<Error> error = queue.error()) throw *error;
    std::vector<const PreparedWal*> files;
    std::vector<std::string> sources;
    for (std::size_t i = 0, n = queue.final_count(); i < n; ++i) {
        files.push_back(queue.wait(i));
        sources.push_back(absolute(paths[i], cwd));
    }
    for (const auto& run : runs) report_drain(run, options.verbose);
    settle_batch(call, files, sources, runs, markers.get());
    return 0;
}

}  // namespace walferry
