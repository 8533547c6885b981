// walferry-fetch: restore_command = 'walferry-fetch %f %p [SOURCE...]'
#include <map>

#include "fetch.h"
#include "tool_main.h"

int main(int argc, char** argv) {
    using namespace walferry;
    constexpr const char* kTool = "walferry-fetch";
    CLI::App app("Find one archived WAL file, verify it and hand it to PostgreSQL.\n"
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
    if (int status = parse_command_line(app, argc, argv); status >= 0) return status;
    options.mode = modes.at(mode);
    bool recovery_mode = options.mode == RecoveryMode::kRecovery;
    return run_tool(
        kTool, [&] { return run_fetch(options, recovery_mode); },
        [&](ErrorCode code) { return fetch_exit_code(code, recovery_mode); });
}
