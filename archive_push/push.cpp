#include "archive_push/push.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

#include "archive_push/backlog.h"
#include "archive_push/batch.h"
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

struct FileResult {
    std::optional<PublishOutcome> outcome;
    std::optional<Error> error;
};

// What one destination's thread did.
struct DestinationRun {
    const Destination* destination = nullptr;
    std::optional<DrainResult> drain;
    std::optional<Error> spool_error;  // its backlog could not be read
    std::vector<FileResult> files;
};

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

// One line, like print_error, but not an error: the push goes on or has succeeded.
void warn(const std::string& message) {
    std::fprintf(stderr, "%s: warning: %s\n", kTool.data(), message.c_str());
}

// One destination: its backlog oldest first, then every file of the batch in order as it is
// prepared, over one store. A failure to reach it fails the files not tried yet; a refusal only
// fails that file. `queue` is null for --drain.
void run_destination(const Destination& d, const Spool& spool, PreparedQueue* queue,
                     const CompressOptions& compress, std::optional<std::int64_t> skip_age,
                     DestinationRun& run) {
    run.files.resize(queue ? queue->capacity() : 0);
    std::size_t next = 0;
    auto fail_rest = [&](const Error& e) {
        if (!is_refusal(e.code()) && !skip_age) note_unreachable(spool, d.name);
        if (!queue) return;
        for (const std::size_t count = queue->final_count(); next < count; ++next)
            run.files[next].error = e;
    };
    if (skip_age) {
        return fail_rest(
            Error(ErrorCode::kUnavailable, "not tried: it failed " + std::to_string(*skip_age) +
                                               " s ago (tried again " +
                                               std::to_string(kRetryUnreachableAfterS) +
                                               " s after a failure, or now by --drain)"));
    }
    try {
        std::unique_ptr<Store> store = open_store(d);
        if (queue) store->warm_up();  // the handshake while the batch is being compressed
        try {
            if (auto backlog = spool.backlog(d.name, false))
                run.drain = drain_backlog(*backlog, *store, compress);
        } catch (const Error& e) {
            run.spool_error = e;
        }
        if (run.drain && run.drain->failure) return fail_rest(*run.drain->failure);
        Publisher publisher(*store);
        for (; queue; ++next) {
            const PreparedWal* wal = queue->wait(next);
            if (!wal) break;
            try {
                run.files[next].outcome = publisher.publish(*wal, next == 0);
            } catch (const Error& e) {
                run.files[next].error = e;
                if (!is_refusal(e.code())) {
                    ++next;
                    return fail_rest(e);
                }
            }
        }
        note_reachable(spool, d.name);  // it answered every time (sftp connects lazily)
    } catch (const Error& e) {
        fail_rest(e);
    } catch (const std::exception& e) {
        fail_rest(Error(ErrorCode::kInternal, e.what()));
    }
}

// `skip_ages`: for each destination left alone this time, how long ago it failed; empty: none.
std::vector<DestinationRun> run_all(const std::vector<Destination>& destinations,
                                    const Spool& spool, PreparedQueue* queue,
                                    const CompressOptions& compress,
                                    const std::vector<std::optional<std::int64_t>>& skip_ages) {
    std::vector<DestinationRun> runs(destinations.size());
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < destinations.size(); ++i) {
            runs[i].destination = &destinations[i];
            threads.emplace_back(run_destination, std::cref(destinations[i]), std::cref(spool),
                                 queue, std::cref(compress),
                                 skip_ages.empty() ? std::nullopt : skip_ages[i],
                                 std::ref(runs[i]));
        }
    }
    return runs;
}

// With required = N: how long ago each destination left alone by this push failed.
// Only while the backlog has room for what they would miss (every file of the batch, counted
// at its raw size): a push that would fail on the cap tries them instead, in case they are back.
std::vector<std::optional<std::int64_t>> skipped_destinations(const std::vector<std::string>& names,
                                                              const Spool& spool,
                                                              std::optional<int> required,
                                                              const std::vector<std::string>& paths,
                                                              std::uint64_t cap) {
    if (!required) return {};
    std::vector<std::optional<std::int64_t>> ages = unreachable_ages(spool, names);
    std::vector<bool> skip = destinations_to_skip(ages, *required);
    const auto skipped = static_cast<std::uint64_t>(std::count(skip.begin(), skip.end(), true));
    if (skipped == 0) return {};
    std::uint64_t batch_bytes = 0;
    for (const std::string& path : paths) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0) batch_bytes += static_cast<std::uint64_t>(st.st_size);
    }
    if (spool.backlog_total_bytes() + batch_bytes * skipped > cap) return {};
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

// Whether file `i` is done: every destination holds it, or `required` do and the others have it
// in their backlog. Otherwise the error to report (refusals first: a conflict is never queued).
// `source`: the file's absolute path, recorded with a backlog entry.
std::optional<Error> settle(std::size_t i, const PreparedWal& wal, const std::string& source,
                            std::vector<DestinationRun>& runs, std::optional<int> required,
                            const Spool& spool, std::uint64_t cap, std::uint64_t& backlog_total,
                            std::vector<MarkerHolder>& holders) {
    std::vector<const DestinationRun*> failed;
    for (const auto& run : runs) {
        const FileResult& r = run.files[i];
        if (r.outcome)
            holders.push_back({run.destination->name, run.destination->location.url()});
        else
            failed.push_back(&run);
    }
    if (failed.empty()) return std::nullopt;
    for (const auto* run : failed) {
        if (is_refusal(run->files[i].error->code())) return run->files[i].error;
    }
    if (!required || static_cast<int>(holders.size()) < *required) return failed[0]->files[i].error;
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
            add_to_backlog(*spool.backlog(run->destination->name, true), wal, now_ns(), source);
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

std::string base_name(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> names_of(const std::vector<Destination>& destinations) {
    std::vector<std::string> names;
    for (const auto& d : destinations) names.push_back(d.name);
    return names;
}

// True if an earlier call pushed this very file ahead into these very destinations, recently
// (marker_covers), and it is the same file (marker_matches_file: unchanged, or the same size and
// SHA-256).
bool answered_by_marker(const Spool& spool, const std::string& wal_path,
                        const std::vector<Destination>& destinations, std::optional<int> required) {
    std::unique_ptr<Store> markers = spool.markers(false);
    if (!markers) return false;
    const std::string name = base_name(wal_path);
    WalName parsed;
    if (!try_parse_wal_name(name, parsed) || parsed.compressed) return false;
    std::optional<BatchMarker> marker = read_marker(*markers, name);
    if (!marker) return false;
    bool ok = marker_covers(*marker, destinations, required, std::time(nullptr)) &&
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

int run_drain(const std::vector<Destination>& destinations, const Spool& spool,
              const CompressOptions& compress, bool verbose) {
    std::vector<DestinationRun> runs = run_all(destinations, spool, nullptr, compress, {});
    std::optional<Error> first;
    for (const auto& run : runs) {
        report_drain(run, verbose);
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

}  // namespace

int run_push(const PushOptions& options) {
    const std::string cwd = current_directory();
    Config config = load_config(options.config_path, cwd);
    std::vector<Destination> destinations =
        destinations_from(options.destinations, config, cwd, "destination");
    std::optional<int> required = config.required;
    if (required && *required >= static_cast<int>(destinations.size())) required.reset();
    const Spool spool(config.spool);
    const CompressOptions compress{options.level.value_or(config.compress_level), config.threads};
    if (options.drain) return run_drain(destinations, spool, compress, options.verbose);
    spool.check_outside_data_dir(options.wal_path);

    const std::vector<std::string> names = names_of(destinations);
    if (answered_by_marker(spool, options.wal_path, destinations, required)) {
        if (options.verbose) {
            std::fprintf(stderr, "%s: %s was pushed ahead with an earlier file\n", kTool.data(),
                         options.wal_path.c_str());
        }
        return 0;
    }

    std::unique_ptr<Store> markers;
    // The files are read and compressed while the destinations connect.
    const std::vector<std::string> paths =
        batch_paths(options.wal_path, config, spool, options.verbose, markers);
    PreparedQueue queue(paths, compress);
    std::vector<DestinationRun> runs =
        run_all(destinations, spool, &queue, compress,
                skipped_destinations(names, spool, required, paths, config.backlog_cap_bytes));
    if (std::optional<Error> error = queue.error()) throw *error;
    std::vector<const PreparedWal*> files;
    for (std::size_t i = 0, n = queue.final_count(); i < n; ++i) files.push_back(queue.wait(i));
    for (const auto& run : runs) report_drain(run, options.verbose);
    std::uint64_t backlog_total = spool.backlog_total_bytes();
    std::optional<Error> failure;
    for (std::size_t i = 0; i < files.size(); ++i) {
        std::vector<MarkerHolder> holders;
        const std::string source = paths[i].starts_with('/') ? paths[i] : cwd + "/" + paths[i];
        std::optional<Error> error = settle(i, *files[i], source, runs, required, spool,
                                            config.backlog_cap_bytes, backlog_total, holders);
        if (options.verbose) {
            for (const auto& run : runs) {
                if (!run.files[i].outcome) continue;
                std::fprintf(
                    stderr, "%s: %s %s in %s (%llu bytes, stored %llu)\n", kTool.data(),
                    *run.files[i].outcome == PublishOutcome::kStored ? "stored" : "already had",
                    files[i]->name.wal_file_name().c_str(), run.destination->name.c_str(),
                    static_cast<unsigned long long>(files[i]->file.meta.raw_size),
                    static_cast<unsigned long long>(files[i]->file.stored_size()));
            }
        }
        if (i == 0) {
            if (error) {
                // Every destination's own failure, the first one as the error.
                for (const auto& run : runs) {
                    const auto& e = run.files[0].error;
                    if (e &&
                        std::string_view(error->what()).find(e->what()) == std::string_view::npos)
                        print_error(kTool, e->what());
                }
                failure = error;
                break;  // nothing is marked ahead when %p itself failed
            }
            continue;
        }
        if (error) break;  // later ones stay for their own calls
        try {
            write_marker(*markers,
                         BatchMarker{files[i]->name.wal_file_name(), files[i]->file.meta.raw_size,
                                     files[i]->file.meta.sha256, holders, files[i]->identity,
                                     std::time(nullptr)});
        } catch (const Error& e) {
            warn("batch marker for \"" + files[i]->name.wal_file_name() + "\": " + e.what());
            break;
        }
    }
    if (failure) throw *failure;
    return 0;
}

}  // namespace walferry
