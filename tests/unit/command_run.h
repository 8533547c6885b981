// Running a command's orchestration (run_push, run_fetch, run_cleanup) as its main() does, over
// in-memory destinations: the exit status and everything it wrote to stderr.
#pragma once

#include <unistd.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "captured_output.h"
#include "cli/tool_main.h"

namespace walferry::testing {

struct CommandRun {
    int status;
    std::string err;
};

// run_tool(tool, body, exit_for), as main() calls it.
inline CommandRun run_command(std::string_view tool, const std::function<int()>& body,
                              const std::function<int(ErrorCode)>& exit_for = exit_code) {
    CapturedOutput err(STDERR_FILENO);
    const int status = run_tool(tool, body, exit_for);
    return {status, err.text()};
}

// [[destination]] tables for config lines: each of `names` with a file:// URL that is never
// opened (the test's opener serves the destination by its name).
inline std::string destination_tables(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += "[[destination]]\nname = \"" + name + "\"\nurl = \"file:///walferry-test/" + name +
               "\"\n";
    }
    return out;
}

// A timeline history file for timeline 2, as the tests push and fetch it.
inline const std::string kHistoryTwo = "1\t0/3000000\tno recovery target specified\n";

}  // namespace walferry::testing
