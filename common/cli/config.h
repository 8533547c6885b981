// walferry.toml: destinations, policies and fetch settings. Positional destinations on the
// command line replace the file's, so a plain local directory needs no config at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/destination.h"

namespace walferry {

struct FetchSettings {
    int retries = 3;
    int retry_delay_ms = 500;
    int prefetch = 8;
};

// A PostgreSQL server whose position walferry-cleanup --prune asks for (libpq conninfo).
struct ServerSpec {
    std::string name;
    std::string conninfo;
};

struct CleanupSettings {
    int keep_backups = 0;               // keep WAL for the newest N base backups
    std::int64_t keep_age_seconds = 0;  // never remove files younger than this
    // report consumers silent for longer
    std::int64_t consumer_ttl_seconds = std::int64_t{7} * 86400;
};

// walferry-status's thresholds ([status]); the command line overrides them.
struct StatusSettings {
    std::int64_t warn_lag = 2;   // segments behind the server's current WAL file: WARNING
    std::int64_t crit_lag = 16;  // ... CRITICAL
    std::int64_t switch_timeout_seconds = 60;  // --check --switch: wait this long at most
    // A cleanup consumer whose record is older: WARNING. nullopt: [cleanup] consumer_ttl, the age
    // at which walferry-cleanup itself warns of it. 0: never stale.
    std::optional<std::int64_t> stale_consumer_seconds;
};

struct Config {
    std::string origin;  // the file it was read from; empty when no file was used
    std::string node;
    std::string spool = "/var/lib/walferry";
    // Set by the push benchmark (bench/README.md): on pgbench WAL, 0.10 of the raw size and a
    // tenth less zstd work than level 1 (0.086); the fast levels below it save little more.
    int compress_level = -1;
    int threads = 0;
    std::optional<int> required;  // nullopt: "all"
    int batch =
        16;  // look-ahead: the push benchmark reaches 20 segments/s to two SSH hosts at 16, not 8
    std::uint64_t backlog_cap_bytes = 1ull << 30;
    std::vector<Destination> destinations;
    FetchSettings fetch;
    std::vector<ServerSpec> servers;
    CleanupSettings cleanup;
    StatusSettings status;
};

// "90s", "15m", "12h", "7d" or a plain number of seconds. Throws Error(kConfig) naming `what`.
std::int64_t parse_duration(std::string_view text, std::string_view what);

inline constexpr std::string_view kDefaultConfigPath = "/etc/walferry/walferry.toml";

// Finds and parses the config: `explicit_path` (-c), else $WALFERRY_CONFIG, else the default path.
// A file named by -c or $WALFERRY_CONFIG must exist; the default one may be absent (empty Config).
Config load_config(const std::optional<std::string>& explicit_path, std::string_view cwd);

// Parses TOML text. Unknown keys, wrong types and out-of-range values are errors, so a typo
// never silently changes behaviour. Throws Error(kConfig) naming `origin`, the key and the problem.
Config parse_config(std::string_view text, std::string_view origin, std::string_view cwd);

// Destinations this node writes to: those whose name differs from `node`.
std::vector<Destination> active_destinations(const Config& config);

// Current working directory (Error(kIo) if it cannot be read).
std::string current_directory();

}  // namespace walferry
