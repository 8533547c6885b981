#include "cli/tool_main.h"

#include <cerrno>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>

namespace walferry {

void print_error(std::string_view tool, std::string_view message) {
    std::string line(tool);
    line += ": error: ";
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    line += '\n';
    std::fputs(line.c_str(), stderr);
}

namespace {

// CLI11 checks required arguments before it reports extra ones, so `tool --bogus` alone would be
// told "WALPATH is required". An option nobody declared is the real problem: name it first.
std::optional<std::string> unknown_option(CLI::App& app, int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") break;
        if (arg.size() < 2 || arg[0] != '-') continue;
        std::string name(arg.substr(0, arg.find('=')));
        if (arg[1] != '-') name = name.substr(0, 2);  // "-lX": short option with value
        bool known = name == "-h" || name == "--help";
        for (const CLI::Option* o : app.get_options()) known = known || o->check_name(name);
        if (!known) return arg[1] == '-' ? std::string(arg) : name;  // as getopt shows them
        if (const CLI::Option* o = app.get_option_no_throw(name);
            o && o->get_type_size() > 0 && arg.find('=') == arg.npos && name.size() == arg.size()) {
            ++i;  // its value, which may start with '-'
        }
    }
    return std::nullopt;
}

// CLI11 messages start with a capital ("The following argument was not expected") or with an
// argument name ("WALPATH is required"): lower-case only an ordinary word.
std::string message_of(const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.size() > 1 && std::isupper(static_cast<unsigned char>(msg[0])) &&
        std::islower(static_cast<unsigned char>(msg[1]))) {
        msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    }
    return msg;
}

// stdout carries what was asked for (--help, --version, walferry-cleanup -n's list): when it
// could not be written, the run failed however the rest went (a script reading the list would
// get nothing). stdio buffers it, so the error shows at the latest here, at the final flush.
int check_stdout(std::string_view tool, int status, const std::function<int(ErrorCode)>& exit_for) {
    // std::cout writes through to stdout's buffer (sync_with_stdio): one fflush sees both, and
    // its errno is the one to name (a flush of std::cout first would eat it).
    errno = 0;
    const bool flushed = std::fflush(stdout) == 0;
    const int err = errno;
    std::cout.flush();
    if (flushed && !std::ferror(stdout) && std::cout.good()) return status;
    print_error(tool, "cannot write to stdout: " +
                          (!flushed && err != 0 ? errno_text(err) : "an earlier write failed"));
    return status != 0 ? status : exit_for(ErrorCode::kIo);
}

int run_body(std::string_view tool, const std::function<int()>& body,
             const std::function<int(ErrorCode)>& exit_for) {
    try {
        return body();
    } catch (const Error& e) {
        print_error(tool, std::string(e.what()) + " (" + error_tag(e.code()) + ")");
        if (e.code() == ErrorCode::kUsage) {
            std::fprintf(stderr, "Try \"%.*s --help\" for more information.\n",
                         static_cast<int>(tool.size()), tool.data());
        }
        return exit_for(e.code());
    } catch (const std::bad_alloc&) {
        print_error(tool, "out of memory");
        return exit_for(ErrorCode::kIo);
    } catch (const std::exception& e) {
        print_error(tool, std::string("internal error: ") + e.what());
        return exit_for(ErrorCode::kInternal);
    }
}

int usage_error(CLI::App& app, const std::string& message) {
    print_error(app.get_name(), message);
    std::fprintf(stderr, "Try \"%s --help\" for more information.\n", app.get_name().c_str());
    return exit_code(ErrorCode::kUsage);
}

}  // namespace

int parse_command_line(CLI::App& app, int argc, char** argv,
                       const std::function<int(ErrorCode)>& exit_for) {
    try {
        app.parse(argc, argv);
        return -1;
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return check_stdout(app.get_name(), 0, exit_for);
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        return check_stdout(app.get_name(), 0, exit_for);
    } catch (const CLI::ParseError& e) {
        if (std::optional<std::string> bad = unknown_option(app, argc, argv)) {
            return usage_error(app, "unrecognized option \"" + *bad + "\"");
        }
        return usage_error(app, message_of(e));
    }
}

int run_tool(std::string_view tool, const std::function<int()>& body,
             const std::function<int(ErrorCode)>& exit_for) {
    return check_stdout(tool, run_body(tool, body, exit_for), exit_for);
}

int report_escaped_exception(std::string_view tool,
                             const std::function<int(ErrorCode)>& exit_for) noexcept {
    try {
        return run_body(
            tool, []() -> int { throw; }, exit_for);
    } catch (...) {  // not a std::exception, or no memory left to report one
        std::fprintf(stderr, "%.*s: error: internal error\n", static_cast<int>(tool.size()),
                     tool.data());
        return kExitStopRecovery;
    }
}

void add_version_flag(CLI::App& app, std::string_view tool) {
    app.set_version_flag("--version", std::string(tool) + " " + WALFERRY_VERSION,
                         "Print the version and exit");
}

}  // namespace walferry
