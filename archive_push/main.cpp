// walferry-push: archive_command = 'walferry-push %p [DEST...]'
#include "archive_push/push.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"

int main(int argc, char** argv) try {
    using namespace walferry;
    constexpr const char* kTool = "walferry-push";
    CLI::App app(
        "Compress, checksum and durably store one WAL file in every destination.\n"
        "Use as archive_command = 'walferry-push %p [DEST...]'.",
        kTool);
    add_version_flag(app, kTool);
    PushOptions options;
    CLI::Option* walpath =
        app.add_option("WALPATH", options.wal_path, "WAL file to archive (%p); none with --drain");
    app.add_option("DEST", options.destinations,
                   "Archive directory or URL (file:///path); replaces the config's destinations");
    app.add_option("-c,--config", options.config_path,
                   "Config file (default: $WALFERRY_CONFIG, then /etc/walferry/walferry.toml)");
    app.add_option("-l,--level", options.level, "zstd compression level")
        ->check(CLI::Range(-7, 19));
    app.add_flag("-v,--verbose", options.verbose, "Say what was stored where");
    app.add_flag("--drain", options.drain,
                 "Only send the spool's backlog to the destinations that answer again");
    app.final_callback([&] {
        // With --drain every positional argument is a destination.
        if (options.drain && walpath->count() > 0) {
            options.destinations.insert(options.destinations.begin(), options.wal_path);
            options.wal_path.clear();
        }
        if (!options.drain && walpath->count() == 0) throw CLI::RequiredError("WALPATH");
    });
    if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
    return run_tool(kTool, [&] { return run_push(options, open_store); });
} catch (...) {
    return walferry::report_escaped_exception("walferry-push");
}
