#include "tool_main.h"

#include <cstdio>
#include <exception>
#include <iostream>

namespace walferry {

void print_error(std::string_view tool, std::string_view message) {
    std::string line(tool);
    line += ": error: ";
    for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
    line += '\n';
    std::fputs(line.c_str(), stderr);
}

int parse_command_line(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
        return -1;
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        std::string msg = e.what();
        if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
        print_error(app.get_name(), msg);
        std::fprintf(stderr, "Try \"%s --help\" for more information.\n", app.get_name().c_str());
        return exit_code(ErrorCode::kUsage);
    }
}

int run_tool(std::string_view tool, const std::function<int()>& body,
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

void add_version_flag(CLI::App& app, std::string_view tool) {
    app.set_version_flag("--version", std::string(tool) + " " + WALFERRY_VERSION,
                         "Print the version and exit");
}

}  // namespace walferry
