// walferry-status: what every archive holds, per timeline; gaps, damage, backlog, lag behind
// the server. Exit status as a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
#include "cli/config.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"
#include "status/status.h"

int main(int argc, char** argv) try {
    using namespace walferry;
    constexpr const char* kTool = "walferry-status";
    CLI::App app(
        "Show what every archive holds, per timeline: gaps, damaged files, backlog, lag behind "
        "the server.\nExit status as a monitoring plugin: 0 OK, 1 WARNING, 2 CRITICAL, "
        "3 UNKNOWN.",
        kTool);
    add_version_flag(app, kTool);
    StatusOptions o;
    app.add_option("DEST", o.destinations,
                   "Archive directory or URL (file:///path, sftp://user@host[:port]/path); "
                   "replaces the config's destinations");
    app.add_option("-c,--config", o.config_path,
                   "Config file (default: $WALFERRY_CONFIG, then /etc/walferry/walferry.toml)");
    app.add_flag("--verify", o.verify,
                 "Read every stored file and check it (container, size, SHA-256, page header, "
                 "system identifier)");
    app.add_option("-j,--jobs", o.jobs, "--verify workers (default: one per core)")
        ->check(CLI::Range(1, 1024));
    auto* check = app.add_flag("--check", o.check,
                               "Ask the config's [[server]]s: pg_stat_archiver, current WAL "
                               "file, each destination's lag");
    app.add_flag("--switch", o.switch_wal,
                 "With --check: pg_switch_wal(), then wait until that segment is in every "
                 "destination")
        ->needs(check);
    app.add_option("--switch-timeout", o.switch_timeout_seconds,
                   "Seconds --switch waits at most (default: [status] switch_timeout, 60)")
        ->check(CLI::Range(0, 86400));
    app.add_option("--warn-lag", o.warn_lag,
                   "WARNING above this many segments of lag (default: [status] warn_lag, 2)")
        ->check(CLI::Range(0, 1000000));
    app.add_option("--crit-lag", o.crit_lag,
                   "CRITICAL above this many segments of lag (default: [status] crit_lag, 16)")
        ->check(CLI::Range(0, 1000000));
    app.add_option_function<std::string>(
           "--stale-consumer",
           [&](const std::string& text) {
               try {
                   o.stale_consumer_seconds = parse_duration(text, "--stale-consumer");
               } catch (const Error& e) {
                   throw CLI::ValidationError(e.what());
               }
           },
           "WARNING for a cleanup consumer not updated for longer, e.g. \"1d\", \"12h\", "
           "seconds; 0: never (default: [status] stale_consumer, else [cleanup] consumer_ttl, 7d)")
        ->type_name("DURATION");
    bool json = false;
    bool prometheus = false;
    auto* json_flag = app.add_flag("--json", json, "JSON output (schema in the man page)");
    app.add_flag("--prometheus", prometheus,
                 "Prometheus text exposition format (node_exporter's textfile collector)")
        ->excludes(json_flag);
    if (int status = parse_command_line(app, argc, argv, status_exit_code); status >= 0) {
        // A usage error is UNKNOWN, as every other failure to look.
        return status == exit_code(ErrorCode::kUsage) ? kStatusUnknown : status;
    }
    o.format =
        json ? StatusFormat::kJson : (prometheus ? StatusFormat::kPrometheus : StatusFormat::kText);
    return run_tool(
        kTool, [&] { return run_status(o, open_store); }, status_exit_code);
} catch (...) {
    return walferry::report_escaped_exception("walferry-status", walferry::status_exit_code);
}
