// walferry-test-sftp-store: drives one Store method of an sftp:// destination, for the
// end-to-end tests against a real sshd (tests/e2e/sftp_store_test.sh). It reaches what the
// commands never do on their own, such as put() onto a name that already exists, which must
// answer "exists" and leave the stored file alone.
//
//   walferry-test-sftp-store -c CONFIG put NAME FILE   -> "stored" or "exists"
//   walferry-test-sftp-store -c CONFIG stat NAME BYTES -> "<size> <first BYTES as hex>" or "absent"
//   walferry-test-sftp-store -c CONFIG get NAME OUT    -> writes OUT, or "absent"
//   walferry-test-sftp-store -c CONFIG list            -> one name per line
//   walferry-test-sftp-store -c CONFIG remove NAME     -> "removed" or "absent"
// The store is the config's first destination. Errors: one line, exit status as walferry-push.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/config.h"
#include "cli/open_store.h"
#include "cli/tool_main.h"

using namespace walferry;

namespace {

constexpr std::string_view kTool = "walferry-test-sftp-store";

int run(const std::string& config_path, const std::vector<std::string>& args) {
    Config config = load_config(config_path, current_directory());
    if (config.destinations.empty()) throw Error(ErrorCode::kUsage, "no destination in config");
    auto store = open_store(config.destinations.front());
    const std::string& op = args.at(0);
    auto arg = [&](std::size_t i) -> const std::string& {
        if (i >= args.size()) throw Error(ErrorCode::kUsage, op + ": missing argument");
        return args[i];
    };
    if (op == "put") {
        std::ifstream in(arg(2), std::ios::binary | std::ios::ate);
        if (!in) throw Error(ErrorCode::kIo, "cannot read \"" + arg(2) + "\"");
        std::vector<std::uint8_t> data(static_cast<std::size_t>(in.tellg()));
        in.seekg(0);
        in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
        const std::span<const std::uint8_t> parts[] = {data};
        std::puts(store->put(arg(1), parts) ? "stored" : "exists");
    } else if (op == "stat") {
        auto st = store->stat(arg(1), std::stoul(arg(2)));
        if (!st) {
            std::puts("absent");
            return 0;
        }
        std::printf("%llu ", static_cast<unsigned long long>(st->size));
        for (std::uint8_t b : st->head) std::printf("%02x", b);
        std::puts("");
    } else if (op == "get") {
        std::ofstream out(arg(2), std::ios::binary);
        bool found = store->get(arg(1), [&](std::span<const std::uint8_t> chunk) {
            out.write(reinterpret_cast<const char*>(chunk.data()),
                      static_cast<std::streamsize>(chunk.size()));
        });
        if (!found) std::puts("absent");
    } else if (op == "list") {
        for (const auto& name : store->list()) std::puts(name.c_str());
    } else if (op == "remove") {
        std::puts(store->remove(arg(1)) ? "removed" : "absent");
    } else {
        throw Error(ErrorCode::kUsage, "unknown operation \"" + op + "\"");
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Drives one Store method of the config's first destination (tests only)."};
    std::string config_path;
    std::vector<std::string> args;
    app.add_option("-c,--config", config_path, "walferry.toml")->required();
    app.add_option("args", args,
                   "put NAME FILE | stat NAME BYTES | get NAME OUT | list | remove NAME")
        ->required();
    if (int rc = parse_command_line(app, argc, argv); rc >= 0) return rc;
    return run_tool(kTool, [&] { return run(config_path, args); });
}
