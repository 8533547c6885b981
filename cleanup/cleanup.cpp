#include "cleanup.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "archive_view.h"
#include "cleanup_rules.h"
#include "cleanup_report.h"
#include "config.h"
#include "consumer_registry.h"
#include "error.h"
#include "file_store.h"
#include "location.h"
#include "prune_sources.h"

namespace walferry {

namespace {

std::string local_archive_dir(const std::string& text) {
    Location loc = parse_location(text, current_directory());
    if (loc.scheme != Location::Scheme::kFile) {
        throw Error(ErrorCode::kUnsupported,
                    "cleanup of \"" + loc.url() + "\": only local archives are supported so far");
    }
    struct stat st {};
    if (::stat(loc.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        // pg_archivecleanup treats this as a usage error (exit 2).
        throw Error(ErrorCode::kUsage, "archive location \"" + loc.path + "\" does not exist");
    }
    return loc.path;
}

std::string strip(std::string_view text, std::string_view ext) {
    if (!ext.empty() && text.size() > ext.size() && text.ends_with(ext)) text.remove_suffix(ext.size());
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

}  // namespace

int run_cleanup(const CleanupOptionsCli& options) {
    const std::string dir = local_archive_dir(options.archive);
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    const bool needs_config = options.prune;
    Config config = needs_config || options.config_path
                        ? load_config(options.config_path, current_directory())
                        : Config{};

    if (options.forget_consumer) {
        ConsumerRegistry registry(dir, false);
        if (!registry.forget(*options.forget_consumer)) {
            throw Error(ErrorCode::kInvalidState, "no consumer \"" + *options.forget_consumer +
                                                      "\" is recorded in \"" + dir + "\"");
        }
        return 0;
    }
    if (!options.cutoff && !options.prune) {
        throw Error(ErrorCode::kUsage, "must specify oldest kept WAL file");
    }

    FileStore store(dir);
    std::vector<ArchiveEntry> entries = list_archive(store, options.strip_ext);
    const std::uint64_t seg_size = archive_segment_size(store, entries);

    // Every position that must be respected: the one given, each recorded consumer, and with
    // --prune what the servers and policies say. Recording happens under the archive's lock.
    std::vector<CleanupCutoff> cutoffs;
    std::map<std::string, WalName> updates;  // consumer name -> new cutoff to record
    if (options.cutoff) {
        WalName cut = parse_cutoff_name(strip(*options.cutoff, options.strip_ext));
        if (options.consumer) {
            check_consumer_name(*options.consumer);
            updates[*options.consumer] = cut;
        } else {
            cutoffs.push_back(CleanupCutoff{"command line", cut});
        }
    }
    if (options.prune) {
        for (auto& [name, cut] : prune_cutoffs(config, entries, seg_size)) updates[name] = cut;
    }

    ConsumerRegistry registry(dir, !updates.empty() && !options.dry_run);
    if (!options.dry_run) {
        for (const auto& [name, cut] : updates) registry.record(name, cut, now);
    }
    std::vector<ConsumerRecord> records = registry.load();
    warn_stale(records, now, config.cleanup.consumer_ttl_seconds);
    for (const ConsumerRecord& r : records) {
        if (!updates.count(r.name)) cutoffs.push_back(CleanupCutoff{r.name, r.cutoff});
    }
    for (const auto& [name, cut] : updates) cutoffs.push_back(CleanupCutoff{name, cut});
    if (cutoffs.empty()) throw Error(ErrorCode::kInternal, "no cutoff to clean up to");

    std::set<std::uint32_t> timelines;
    for (const CleanupCutoff& c : cutoffs) timelines.insert(c.name.tli);
    CleanupRules rules(load_histories(store, entries, timelines), cutoffs, seg_size,
                       CleanupOptions{options.prune_diverged, options.clean_backup_history});

    CleanupReport report(store, options.dry_run, options.debug);
    for (const ArchiveEntry& e : entries) {
        if (!e.is_wal) {
            report.note(e.stored, CleanupDecision{false, "not a WAL file", "not a WAL file, never touched"});
            continue;
        }
        CleanupDecision d = rules.decide(e.name);
        if (d.remove && config.cleanup.keep_age_seconds > 0 &&
            report.younger_than(e.stored, now - config.cleanup.keep_age_seconds)) {
            d = CleanupDecision{false, "younger than keep_age", "archived within keep_age"};
        }
        report.note(e.stored, d);
        if (d.remove && !options.dry_run) store.remove(e.stored);
    }
    report.finish();
    return 0;
}

}  // namespace walferry
