#include "cleanup/cleanup.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <set>

#include "archive/consumer_registry.h"
#include "base/error.h"
#include "cleanup/archive_view.h"
#include "cleanup/cleanup_report.h"
#include "cleanup/prune_sources.h"
#include "cli/config.h"
#include "cli/open_store.h"
#include "store/location.h"
#include "wal/cleanup_rules.h"

namespace walferry {

namespace {

// The archive: a local directory, an SFTP one or S3, with the connection settings of the
// config's [[destination]] whose url (or name) is ARCHIVEDIR, else defaults. Its consumer
// records are the backend's (Store::consumers).
struct Archive {
    std::unique_ptr<Store> store;
    std::string label;  // for messages
};

// The destination ARCHIVEDIR names: a configured one by name, else its location with the
// connection settings of the destination with that URL, else defaults.
Destination archive_destination(const std::string& text, const Config& config) {
    const Destination* named = nullptr;
    for (const Destination& d : config.destinations) {
        if (d.name == text) named = &d;
    }
    Destination dest;
    dest.location = named ? named->location : parse_location(text, current_directory());
    dest.name = dest.location.url();
    if (dest.location.scheme == Location::Scheme::kFile) return dest;
    for (const Destination& d : config.destinations) {
        if (&d == named || d.location.url() == dest.location.url()) return d;
    }
    return dest;
}

Archive open_archive(const std::string& text, const Config& config, const StoreOpener& opener) {
    const Destination dest = archive_destination(text, config);
    const Location& loc = dest.location;
    Archive out;
    if (loc.scheme != Location::Scheme::kFile) {
        out.store = opener(dest);
        out.label = out.store->describe();
        return out;
    }
    struct stat st {};
    if (::stat(loc.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        // pg_archivecleanup treats this as a usage error (exit 2).
        throw Error(ErrorCode::kUsage, "archive location \"" + loc.path + "\" does not exist");
    }
    out.label = loc.path;
    out.store = opener(dest);
    return out;
}

// The archive's consumer records under its cleanup lock; a backend that cannot hold them
// refuses (Error(kUnsupported)).
ConsumerRegistry open_registry(Archive& archive, bool create, int lock_wait_s) {
    return ConsumerRegistry(*archive.store,
                            create ? ConsumerAccess::kCreate : ConsumerAccess::kLock, lock_wait_s);
}

bool is_local_dir(const std::string& text) {
    struct stat st {};
    return !text.starts_with("sftp://") && !text.starts_with("s3://") &&
           ::stat(text.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string strip(std::string_view text, std::string_view ext) {
    if (!ext.empty() && text.size() > ext.size() && text.ends_with(ext))
        text.remove_suffix(ext.size());
    return std::string(text);
}

void warn_stale(const std::vector<ConsumerRecord>& records, std::int64_t now, std::int64_t ttl) {
    for (const ConsumerRecord& r : records) {
        if (ttl <= 0 || now - r.updated <= ttl) continue;
        std::fprintf(stderr,
                     "walferry-cleanup: warning: consumer \"%s\" last reported %lld hours ago "
                     "(cutoff %s) and still holds back cleanup; if it is gone, run "
                     "walferry-cleanup --forget-consumer %s ARCHIVEDIR\n",
                     r.name.c_str(), static_cast<long long>((now - r.updated) / 3600),
                     r.cutoff.wal_file_name().c_str(), r.name.c_str());
    }
}

// An SFTP or S3 archive (a URL or a destination's name) takes its connection settings from the
// config's destinations; a plain local directory needs no config, as pg_archivecleanup.
Config cleanup_config(const CleanupOptionsCli& options) {
    const bool needs_config = options.prune || options.config_path ||
                              options.archive.starts_with("sftp://") ||
                              options.archive.starts_with("s3://");
    if (needs_config) return load_config(options.config_path, current_directory());
    if (is_local_dir(options.archive)) return Config{};
    try {
        return load_config(options.config_path, current_directory());
    } catch (const Error&) {
        // Only consulted for a destination's name; the archive path's error follows.
        return Config{};
    }
}

int forget_consumer(const std::string& name, Archive& archive, int lock_wait_s) {
    check_consumer_name(name);
    ConsumerRegistry registry = open_registry(archive, false, lock_wait_s);
    if (!registry.forget(name)) {
        throw Error(ErrorCode::kInvalidState,
                    "no consumer \"" + name + "\" is recorded in \"" + archive.label + "\"");
    }
    return 0;
}

// The positions this call brings: the one given (the command line's, or a consumer's to
// record), and with --prune what the servers and policies say (recorded as consumers').
struct NewCutoffs {
    std::vector<CleanupCutoff> unrecorded;
    std::map<std::string, WalName> updates;  // consumer name -> new cutoff to record
};

NewCutoffs new_cutoffs(const CleanupOptionsCli& options, const Config& config,
                       const std::vector<ArchiveEntry>& entries, std::uint64_t seg_size) {
    NewCutoffs out;
    if (options.cutoff) {
        WalName cut = parse_cutoff_name(strip(*options.cutoff, options.strip_ext));
        if (options.consumer) {
            check_consumer_name(*options.consumer);
            out.updates[*options.consumer] = cut;
        } else {
            out.unrecorded.push_back(CleanupCutoff{"command line", cut});
        }
    }
    if (options.prune) {
        for (auto& [name, cut] : prune_cutoffs(config, entries, seg_size)) out.updates[name] = cut;
    }
    return out;
}

// Every position that must be respected: the new ones, recorded (under the archive's lock, which
// the returned registry holds), and each other recorded consumer's.
std::vector<CleanupCutoff> all_cutoffs(NewCutoffs given, const ConsumerRegistry& registry,
                                       const CleanupOptionsCli& options, const Config& config,
                                       std::int64_t now) {
    if (!options.dry_run) {
        for (const auto& [name, cut] : given.updates) registry.record(name, cut, now);
    }
    std::vector<ConsumerRecord> records = registry.load();
    warn_stale(records, now, config.cleanup.consumer_ttl_seconds);
    std::vector<CleanupCutoff> cutoffs = std::move(given.unrecorded);
    for (const ConsumerRecord& r : records) {
        if (!given.updates.count(r.name)) cutoffs.push_back(CleanupCutoff{r.name, r.cutoff});
    }
    for (const auto& [name, cut] : given.updates) cutoffs.push_back(CleanupCutoff{name, cut});
    if (cutoffs.empty()) throw Error(ErrorCode::kInternal, "no cutoff to clean up to");
    return cutoffs;
}

// The cutoffs' histories place every file. With --prune-diverged the newer timelines' too:
// what a kept newer timeline reads of its ancestors is kept with it.
CleanupRules rules_for(Store& store, const std::vector<ArchiveEntry>& entries,
                       const std::vector<CleanupCutoff>& cutoffs, std::uint64_t seg_size,
                       const CleanupOptionsCli& options) {
    std::set<std::uint32_t> archive_timelines;
    for (const ArchiveEntry& e : entries) {
        if (e.is_wal) archive_timelines.insert(e.name.tli);
    }
    std::set<std::uint32_t> wanted;
    for (const CleanupCutoff& c : cutoffs) wanted.insert(c.name.tli);
    if (options.prune_diverged) {
        wanted.insert(archive_timelines.upper_bound(*wanted.begin()), archive_timelines.end());
    }
    return CleanupRules(load_histories(store, entries, wanted), archive_timelines, cutoffs,
                        seg_size,
                        CleanupOptions{options.prune_diverged, options.clean_backup_history});
}

// Each file's decision, reported (-n, -d), and carried out unless -n.
void decide_and_remove(Store& store, const std::vector<ArchiveEntry>& entries,
                       const CleanupRules& rules, const CleanupOptionsCli& options,
                       const Config& config, std::int64_t now) {
    CleanupReport report(store, options.dry_run, options.debug);
    std::vector<std::string> doomed;  // removed together: one request per 1000 on S3
    for (const ArchiveEntry& e : entries) {
        if (!e.is_wal) {
            report.note(e.stored,
                        CleanupDecision{false, "not a WAL file", "not a WAL file, never touched"});
            continue;
        }
        CleanupDecision d = rules.decide(e.name);
        if (d.remove && config.cleanup.keep_age_seconds > 0 &&
            report.younger_than(e.stored, now - config.cleanup.keep_age_seconds)) {
            d = CleanupDecision{false, "younger than keep_age", "archived within keep_age"};
        }
        report.note(e.stored, d);
        if (d.remove && !options.dry_run) doomed.push_back(e.stored);
    }
    store.remove_all(doomed);
    report.finish();
}

}  // namespace

int run_cleanup(const CleanupOptionsCli& options, const StoreOpener& opener) {
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    const Config config = cleanup_config(options);
    Archive archive = open_archive(options.archive, config, opener);
    if (options.forget_consumer)
        return forget_consumer(*options.forget_consumer, archive, options.lock_wait_s);
    if (!options.cutoff && !options.prune) {
        throw Error(ErrorCode::kUsage, "must specify oldest kept WAL file");
    }

    Store& store = *archive.store;
    const std::vector<ArchiveEntry> entries = list_archive(store, options.strip_ext);
    const std::uint64_t seg_size = archive_segment_size(store, entries);
    NewCutoffs given = new_cutoffs(options, config, entries, seg_size);
    const ConsumerRegistry registry =
        open_registry(archive, !given.updates.empty() && !options.dry_run, options.lock_wait_s);
    const std::vector<CleanupCutoff> cutoffs =
        all_cutoffs(std::move(given), registry, options, config, now);
    const CleanupRules rules = rules_for(store, entries, cutoffs, seg_size, options);
    decide_and_remove(store, entries, rules, options, config, now);
    return 0;
}

}  // namespace walferry
