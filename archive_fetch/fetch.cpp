#include "archive_fetch/fetch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <thread>

#include "archive_fetch/cluster_guard.h"
#include "archive_fetch/prefetch.h"
#include "archive_fetch/restore_file.h"
#include "archive_fetch/temp_file.h"
#include "base/error.h"
#include "cli/config.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"

namespace walferry {

namespace {

constexpr std::string_view kTool = "walferry-fetch";

bool transient(ErrorCode code) {
    return code == ErrorCode::kUnavailable;
}

// What one call works with.
struct FetchCall {
    const FetchOptions& options;
    const StoreOpener& opener;
    WalName name;
    Config config;
    std::vector<Destination> sources;  // in the order they are asked
    // The recovering server's, for files with WAL pages (the wrong-cluster guard,
    // cluster_guard.h); nullopt for others, and when it is not known.
    std::optional<std::uint64_t> server_sysid;
};

// %f: a WAL file name as PostgreSQL asks for it.
WalName requested_name(const std::string& wal_file) {
    WalName name = parse_wal_name(wal_file);
    if (name.compressed) {
        throw Error(ErrorCode::kInvalidName, "\"" + wal_file +
                                                 "\" is an archived file name (.zst); give the "
                                                 "name PostgreSQL asks for (%f)");
    }
    return name;
}

// The positional sources, else the config's with local ones first.
std::vector<Destination> fetch_sources(const FetchOptions& options, const Config& config,
                                       const std::string& cwd) {
    std::vector<Destination> sources;
    try {
        sources = destinations_from(options.sources, config, cwd, "source");
    } catch (const Error& e) {
        // No source at all is the restore host's configuration, not a mistake in this command
        // line: it follows the mode like every failure (1 in standby mode, not 2).
        if (e.code() != ErrorCode::kUsage) throw;
        throw Error(ErrorCode::kConfig, e.what());
    }
    if (options.sources.empty()) {
        // Local copies first: cheapest, and usually the freshest on a standby.
        std::stable_partition(sources.begin(), sources.end(), [](const Destination& d) {
            return d.location.scheme == Location::Scheme::kFile;
        });
    }
    return sources;
}

FetchCall prepare_call(const FetchOptions& options, const StoreOpener& opener,
                       const std::string& cwd) {
    WalName name = requested_name(options.wal_file);
    Config config = load_config(options.config_path, cwd);
    std::vector<Destination> sources = fetch_sources(options, config, cwd);
    // Only files with WAL pages carry a system identifier.
    std::optional<std::uint64_t> server_sysid;
    if (name.has_wal_pages()) server_sysid = recovering_server_sysid(cwd, options.target_path);
    return FetchCall{options, opener, name, std::move(config), std::move(sources), server_sysid};
}

// One source, with retries (exponential backoff) for transient errors only; not-found and
// damaged copies are answers, not accidents, and are never retried.
RestoreOutcome restore_with_retries(const FetchCall& call, const Destination& source,
                                    std::uint64_t& raw_size) {
    const FetchSettings& settings = call.config.fetch;
    int delay_ms = settings.retry_delay_ms;
    for (int attempt = 0;; ++attempt) {
        try {
            auto store = call.opener(source);
            return restore_file(*store, call.name, call.options.target_path, &raw_size,
                                call.server_sysid);
        } catch (const Error& e) {
            if (!transient(e.code()) || attempt >= settings.retries) throw;
            if (call.options.verbose) print_error(kTool, std::string(e.what()) + "; retrying");
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
            delay_ms *= 2;
        }
    }
}

// The segment from the prefetch spool, if it is there (and good): %p holds it now.
bool served_from_spool(const FetchCall& call, Prefetcher& prefetch) {
    std::uint64_t raw_size = 0;
    if (!prefetch.serve(call.name, call.options.target_path, raw_size)) return false;
    if (call.options.verbose) {
        std::fprintf(stderr, "%s: restored %s from the prefetch spool\n", kTool.data(),
                     call.options.wal_file.c_str());
    }
    prefetch.after_served(call.name, raw_size);
    return true;
}

// True if `source` had a good copy, now at %p; false if it answered that it has none. Throws
// for every other outcome (unreachable, a damaged copy, no walferry.info).
bool restored_from(const FetchCall& call, const Destination& source,
                   std::optional<Prefetcher>& prefetch) {
    std::uint64_t raw_size = 0;
    const bool verbose = call.options.verbose;
    if (restore_with_retries(call, source, raw_size) != RestoreOutcome::kRestored) {
        if (verbose) {
            std::fprintf(stderr, "%s: %s not in %s\n", kTool.data(), call.options.wal_file.c_str(),
                         source.location.url().c_str());
        }
        return false;
    }
    if (verbose) {
        std::fprintf(stderr, "%s: restored %s from %s\n", kTool.data(),
                     call.options.wal_file.c_str(), source.location.url().c_str());
    }
    // From a local archive the next segments come as fast as from the spool.
    if (prefetch && source.location.scheme != Location::Scheme::kFile) {
        prefetch->after_served(call.name, raw_size);
    }
    return true;
}

// The sources in order, until one has a good copy: 0. Not found in every one (each answered):
// 1. Otherwise the first failure's code, which the mode maps (fetch_exit_code).
int fetch_from_sources(const FetchCall& call, std::optional<Prefetcher>& prefetch,
                       bool recovery_mode) {
    int failures = 0;
    ErrorCode failure_code = ErrorCode::kNotFound;
    for (const Destination& source : call.sources) {
        try {
            if (restored_from(call, source, prefetch)) return 0;
        } catch (const Error& e) {
            // Said at once, so the log shows a damaged copy even when another source has a good
            // one.
            print_error(kTool, std::string(e.what()) + " (" + error_tag(e.code()) + ")");
            ++failures;
            if (failure_code == ErrorCode::kNotFound) failure_code = e.code();
        }
    }
    if (failures > 0) {
        throw Error(failure_code,
                    "no usable copy of \"" + call.options.wal_file + "\" in " +
                        std::to_string(call.sources.size()) + " source(s); " +
                        (recovery_mode ? "stopping recovery rather than ending it early"
                                       : "standby mode: the server will ask again"));
    }
    return 1;  // Not archived (yet): normal, and said only with -v.
}

}  // namespace

RecoveryMode resolve_mode(RecoveryMode requested, const std::string& dir) {
    if (requested != RecoveryMode::kAuto) return requested;
    struct stat st {};
    std::string signal = dir + "/standby.signal";
    return ::stat(signal.c_str(), &st) == 0 ? RecoveryMode::kStandby : RecoveryMode::kRecovery;
}

RecoveryMode mode_in_arguments(int argc, const char* const* argv) {
    RecoveryMode found = RecoveryMode::kAuto;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") break;
        std::string_view value;
        if (arg == "--mode" && i + 1 < argc) {
            value = argv[++i];
        } else if (arg.starts_with("--mode=")) {
            value = arg.substr(7);
        }
        if (value == "recovery") return RecoveryMode::kRecovery;  // the safer one wins
        if (value == "standby") found = RecoveryMode::kStandby;
    }
    return found;
}

int failure_status(ErrorCode code, RecoveryMode requested, const std::string& dir) {
    if (requested == RecoveryMode::kAuto &&
        (code == ErrorCode::kUsage || code == ErrorCode::kInvalidName)) {
        struct stat st {};
        std::string version = dir + "/PG_VERSION";
        if (::stat(version.c_str(), &st) != 0) return exit_code(code);  // run by hand
    }
    return fetch_exit_code(code, resolve_mode(requested, dir) == RecoveryMode::kRecovery);
}

int run_fetch(const FetchOptions& options, const StoreOpener& opener) {
    const bool recovery_mode = resolve_mode(options.mode, ".") == RecoveryMode::kRecovery;
    remove_stale_temps_next_to(options.target_path);
    const FetchCall call = prepare_call(options, opener, current_directory());
    // Only segments go through the spool: .history files must always be the archive's current
    // ones, and .partial/.backup files are never asked for in sequence.
    std::optional<Prefetcher> prefetch;
    if (call.name.kind == WalKind::kSegment) {
        prefetch = Prefetcher::open(call.config, call.sources, options.target_path,
                                    call.server_sysid, options.verbose, opener);
    }
    if (prefetch && served_from_spool(call, *prefetch)) return 0;
    return fetch_from_sources(call, prefetch, recovery_mode);
}

}  // namespace walferry
