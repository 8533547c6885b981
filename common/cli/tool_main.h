// What every walferry binary's main() shares: CLI11 parsing with pg_basebackup-style messages,
// and turning an Error into one line on stderr plus an exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace walferry {

// Prints "<tool>: error: <message>" as one line (embedded newlines become spaces).
void print_error(std::string_view tool, std::string_view message);

// Parses argv with `app`. Returns -1 when the program should go on; otherwise the exit status
// to return at once: 0 after --help/--version, 2 after a usage error (one line naming the problem
// and `Try "<tool> --help" for more information.`), exit_for(kIo) when the help or version
// could not be written to stdout ("cannot write to stdout: <errno text>").
int parse_command_line(CLI::App& app, int argc, char** argv,
                       const std::function<int(ErrorCode)>& exit_for = exit_code);

// Runs `body`; an Error escaping it is printed with print_error and mapped with `exit_for`.
// Then flushes stdout: if anything written to it was lost, that is one error line too, and a
// body that returned 0 gets exit_for(kIo).
int run_tool(std::string_view tool, const std::function<int()>& body,
             const std::function<int(ErrorCode)>& exit_for = exit_code);

// For the handler of main()'s function-try-block (`int main(...) try {...} catch (...) {...}`):
// an exception thrown outside run_tool, while the command line is built or parsed (CLI11's
// construction errors, std::bad_alloc), is reported as run_tool reports one, one line and
// exit_for's status, instead of std::terminate's abort. Call it only from that handler. An
// exception of no std type, or a failure to report one, is "internal error" and 255
// (kExitStopRecovery): no caller reads that as done or as "not found".
int report_escaped_exception(std::string_view tool,
                             const std::function<int(ErrorCode)>& exit_for = exit_code) noexcept;

// Adds --version printing "<tool> <version>" to `app`.
void add_version_flag(CLI::App& app, std::string_view tool);

}  // namespace walferry
