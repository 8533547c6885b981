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

// One source, with retries (exponential backoff) for transient errors only; not-found and
// damaged copies are answers, not accidents, and are never retried.
RestoreOutcome restore_with_retries(const Destination& source, const WalName& name,
                                    const FetchOptions& options, const FetchSettings& settings,
                                    std::optional<std::uint64_t> server_sysid,
                                    std::uint64_t& raw_size) {
    int delay_ms = settings.retry_delay_ms;
    for (int attempt = 0;; ++attempt) {
        try {
            auto store = open_store(source);
            return restore_file(*store, name, options.target_path, &raw_size, server_sysid);
        } catch (const Error& e) {
            if (!transient(e.code()) || attempt >= settings.retries) throw;
            if (options.verbose) print_error(kTool, std::string(e.what()) + "; retrying");
            std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
            delay_ms *= 2;
        }
    }
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

int run_fetch(const FetchOptions& options) {
    const bool recovery_mode = resolve_mode(options.mode, ".") == RecoveryMode::kRecovery;
    remove_stale_temps_next_to(options.target_path);
    const std::string cwd = current_directory();
    WalName name = parse_wal_name(options.wal_file);
    if (name.compressed) {
        throw Error(ErrorCode::kInvalidName, "\"" + options.wal_file +
                                                 "\" is an archived file name (.zst); give the "
                                                 "name PostgreSQL asks for (%f)");
    }
    Config config = load_config(options.config_path, cwd);
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

    // The wrong-cluster guard (cluster_guard.h): only files with WAL pages carry a system
    // identifier.
    std::optional<std::uint64_t> server_sysid;
    if (name.has_wal_pages()) server_sysid = recovering_server_sysid(cwd, options.target_path);

    // Only segments go through the spool: .history files must always be the archive's current
    // ones, and .partial/.backup files are never asked for in sequence.
    std::optional<Prefetcher> prefetch;
    if (name.kind == WalKind::kSegment) {
        prefetch =
            Prefetcher::open(config, sources, options.target_path, server_sysid, options.verbose);
    }
    std::uint64_t raw_size = 0;
    if (prefetch && prefetch->serve(name, options.target_path, raw_size)) {
        if (options.verbose) {
            std::fprintf(stderr, "%s: restored %s from the prefetch spool\n", kTool.data(),
                         options.wal_file.c_str());
        }
        prefetch->after_served(name, raw_size);
        return 0;
    }

    int failures = 0;
    ErrorCode failure_code = ErrorCode::kNotFound;
    for (const Destination& source : sources) {
        try {
            if (restore_with_retries(source, name, options, config.fetch, server_sysid, raw_size) ==
                RestoreOutcome::kRestored) {
                if (options.verbose) {
                    std::fprintf(stderr, "%s: restored %s from %s\n", kTool.data(),
                                 options.wal_file.c_str(), source.location.url().c_str());
                }
                // From a local archive the next segments come as fast as from the spool.
                if (prefetch && source.location.scheme != Location::Scheme::kFile) {
                    prefetch->after_served(name, raw_size);
                }
                return 0;
            }
            if (options.verbose) {
                std::fprintf(stderr, "%s: %s not in %s\n", kTool.data(), options.wal_file.c_str(),
                             source.location.url().c_str());
            }
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
                    "no usable copy of \"" + options.wal_file + "\" in " +
                        std::to_string(sources.size()) + " source(s); " +
                        (recovery_mode ? "stopping recovery rather than ending it early"
                                       : "standby mode: the server will ask again"));
    }
    return 1;  // Not archived (yet): normal, and said only with -v.
}

}  // namespace walferry
