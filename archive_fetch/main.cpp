// walferry-fetch: restore_command = 'walferry-fetch %f %p [SOURCE...]'
#include <map>

#include "archive_fetch/fetch.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"

int main(int argc, char** argv) try {
    using namespace walferry;
    constexpr const char* kTool = "walferry-fetch";
    CLI::App app(
        "Find one archived WAL file, verify it and hand it to PostgreSQL.\n"
        "Use as restore_command = 'walferry-fetch %f %p [SOURCE...]'.",
        kTool);
    add_version_flag(app, kTool);
    FetchOptions options;
    app.add_option("WALFILE", options.wal_file, "Name of the WAL file wanted (%f)")->required();
    app.add_option("TARGETPATH", options.target_path, "Where to put it (%p)")->required();
    app.add_option("SOURCE", options.sources,
                   "Archive directory or URL (file:///path); replaces the config's sources");
    app.add_option("-c,--config", options.config_path,
                   "Config file (default: $WALFERRY_CONFIG, then /etc/walferry/walferry.toml)");
    const std::map<std::string, RecoveryMode> modes{{"auto", RecoveryMode::kAuto},
                                                    {"standby", RecoveryMode::kStandby},
                                                    {"recovery", RecoveryMode::kRecovery}};
    std::string mode = "auto";
    app.add_option("--mode", mode,
                   "auto (standby.signal in the working directory means standby), standby "
                   "(failures exit 1), recovery (failures exit 255)")
        ->check(CLI::IsMember({"auto", "standby", "recovery"}));
    app.add_flag("-v,--verbose", options.verbose, "Say where each file was looked for");
    if (int status = parse_command_line(app, argc, argv); status >= 0) {
        // A broken restore_command must not read as "not found": see failure_status.
        if (status != exit_code(ErrorCode::kUsage)) return status;
        return failure_status(ErrorCode::kUsage, mode_in_arguments(argc, argv), ".");
    }
    // Resolved before anything can fail, so that every failure follows it.
    const RecoveryMode requested = modes.at(mode);
    options.mode = resolve_mode(requested, ".");
    return run_tool(
        kTool, [&] { return run_fetch(options, open_store); },
        [&](ErrorCode code) { return failure_status(code, requested, "."); });
} catch (...) {
    return walferry::report_escaped_exception("walferry-fetch", [&](walferry::ErrorCode code) {
        return walferry::failure_status(code, walferry::mode_in_arguments(argc, argv), ".");
    });
}
