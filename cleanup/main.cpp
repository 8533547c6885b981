// walferry-cleanup: archive_cleanup_command = 'walferry-cleanup [--consumer NAME] ARCHIVEDIR %r',
// a timeline-aware drop-in for pg_archivecleanup, and scheduled pruning with --prune.
#include "cleanup/cleanup.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"

int main(int argc, char** argv) try {
    using namespace walferry;
    constexpr const char* kTool = "walferry-cleanup";
    CLI::App app(
        "Remove archived WAL files that no consumer can need any more, following "
        "timeline history.\nUse as archive_cleanup_command = 'walferry-cleanup "
        "[--consumer NAME] ARCHIVEDIR %r', or with --prune from cron or a systemd timer.",
        kTool);
    app.set_version_flag("-V,--version", std::string(kTool) + " " + WALFERRY_VERSION,
                         "Print the version and exit");
    CleanupOptionsCli o;
    app.add_option("ARCHIVEDIR", o.archive,
                   "Archive directory (or file:///path, or sftp://user@host[:port]/path)")
        ->required();
    app.add_option("OLDESTKEPTWALFILE", o.cutoff,
                   "Oldest WAL file still needed (%r): a segment, .partial or .backup name");
    app.add_flag("-n,--dry-run", o.dry_run, "Remove nothing; print every decision with its reason");
    app.add_flag("-d,--debug", o.debug, "Print each removal and a summary on stderr");
    app.add_flag("-b,--clean-backup-history", o.clean_backup_history,
                 "Also remove backup history files (.backup) before the cutoff");
    app.add_option("-x,--strip-extension", o.strip_ext,
                   "Strip this extension from file names before deciding (like pg_archivecleanup)");
    app.add_flag(
        "--prune-diverged", o.prune_diverged,
        "Also remove segments of diverged and abandoned timeline branches above the cutoff");
    app.add_option("--consumer", o.consumer,
                   "Record the cutoff as this consumer's and remove only what every recorded "
                   "consumer no longer needs");
    app.add_option("--forget-consumer", o.forget_consumer, "Remove a recorded consumer and exit");
    app.add_flag("--prune", o.prune,
                 "Take the cutoffs from the config: [[server]] positions and [cleanup] policies");
    app.add_option("-c,--config", o.config_path,
                   "Config file (default: $WALFERRY_CONFIG, then /etc/walferry/walferry.toml)");
    app.add_option("--lock-wait", o.lock_wait_s,
                   "SFTP archives: seconds to wait for another cleanup's lock (default 60)")
        ->check(CLI::Range(0, 86400));
    if (int status = parse_command_line(app, argc, argv, cleanup_exit_code); status >= 0) {
        return status;
    }
    return run_tool(
        kTool, [&] { return run_cleanup(o, open_store); }, cleanup_exit_code);
} catch (...) {
    return walferry::report_escaped_exception("walferry-cleanup", walferry::cleanup_exit_code);
}
