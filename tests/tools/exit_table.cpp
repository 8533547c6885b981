// walferry-test-exit-table: the error catalogue (common/base/error.*) is the one source of every
// exit status a walferry command can end with; README.md's exit-status table and each man page's
// EXIT STATUS section restate it for readers. This tool derives each command's statuses from the
// catalogue's own mapping functions and compares the documents with them.
//
//   walferry-test-exit-table              prints each command's statuses and the errors behind them
//   walferry-test-exit-table --check DIR  compares DIR/README.md and DIR/man/<command>.h2m with
//                                         them: one line per difference, exit status 1
//
// A document row is a numeric status a command is documented to exit with (a README cell that
// is not empty, a man page's ".TP" + ".B N"); the catalogue's rows are every status its mapping
// gives for some error, plus 0. A status missing on either side is a difference. Rows whose label
// is not a number (the man page's "128+N" for signals) are not the catalogue's and are skipped.
#include <cctype>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"

namespace {

using walferry::ErrorCode;

// Exit status -> what leads to it (error names from the catalogue).
using Table = std::map<int, std::set<std::string>>;

const char* const kCommands[] = {"walferry-push", "walferry-fetch", "walferry-cleanup",
                                 "walferry-status"};
// README.md has one table for the PostgreSQL hooks and one for walferry-status, whose statuses
// follow the monitoring-plugin convention instead.
const std::vector<std::vector<std::string>> kReadmeTables = {
    {"walferry-push", "walferry-fetch", "walferry-cleanup"}, {"walferry-status"}};

std::vector<ErrorCode> every_code() {
    std::vector<ErrorCode> codes;
    for (int i = 1; i <= static_cast<int>(walferry::kLastErrorCode); ++i) {
        codes.push_back(static_cast<ErrorCode>(i));
    }
    return codes;
}

std::string name_of(ErrorCode code) {
    return std::string(walferry::error_name(code));
}

// What each command's main() maps an error with (archive_push/main.cpp, archive_fetch/main.cpp
// and fetch.cpp's failure_status, cleanup/main.cpp).
Table catalogue_table(const std::string& command) {
    Table t{{0, {"success"}}};
    for (ErrorCode code : every_code()) {
        if (command == "walferry-push") {
            t[walferry::exit_code(code)].insert(name_of(code));
        } else if (command == "walferry-fetch") {
            t[walferry::fetch_exit_code(code, false)].insert(name_of(code) + " (standby)");
            t[walferry::fetch_exit_code(code, true)].insert(name_of(code) + " (recovery)");
        } else if (command == "walferry-status") {
            t[walferry::status_exit_code(code)].insert(name_of(code));
        } else {
            t[walferry::cleanup_exit_code(code)].insert(name_of(code));
        }
    }
    if (command == "walferry-status") {
        // What it found, not an error: status/status_report.h's levels.
        t[walferry::kStatusWarning].insert("warning");
        t[walferry::kStatusCritical].insert("critical");
    }
    if (command == "walferry-fetch") {
        // Run by hand outside a data directory, a usage error and an invalid name keep their
        // own status; --help or --version output that cannot be written is parse_command_line's
        // exit_code(kIo).
        for (ErrorCode code : {ErrorCode::kUsage, ErrorCode::kInvalidName}) {
            t[walferry::exit_code(code)].insert(name_of(code) + " (by hand)");
        }
        t[walferry::exit_code(ErrorCode::kIo)].insert("io (--help or --version output)");
    }
    return t;
}

bool is_number(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
}

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) return "";
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read \"" + path + "\"");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The statuses of a man page's "[exit status]" section: each ".TP" followed by ".B <number>".
std::set<int> man_page_statuses(const std::string& path) {
    const auto lines = read_lines(path);
    std::set<int> statuses;
    bool in_section = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!lines[i].empty() && lines[i][0] == '[') in_section = lines[i] == "[exit status]";
        if (!in_section || lines[i] != ".TP" || i + 1 == lines.size()) continue;
        const std::string& label = lines[i + 1];
        if (label.starts_with(".B ") && is_number(trim(label.substr(3)))) {
            statuses.insert(std::stoi(trim(label.substr(3))));
        }
    }
    if (statuses.empty()) throw std::runtime_error(path + ": no [exit status] section with rows");
    return statuses;
}

// A README.md table "| status | <command> | ...": for each command, the statuses whose cell in
// its column is not empty.
std::map<std::string, std::set<int>> readme_statuses(const std::vector<std::string>& lines,
                                                     const std::string& path,
                                                     const std::vector<std::string>& commands) {
    std::string header = "| status |";
    for (const std::string& command : commands) header += " " + command + " |";
    std::size_t i = 0;
    while (i < lines.size() && lines[i] != header) ++i;
    if (i == lines.size()) throw std::runtime_error(path + ": no line \"" + header + "\"");
    std::map<std::string, std::set<int>> statuses;
    for (i += 2; i < lines.size() && lines[i].starts_with("|"); ++i) {
        std::vector<std::string> cells;
        std::istringstream row(lines[i].substr(1));
        for (std::string cell; std::getline(row, cell, '|');) cells.push_back(trim(cell));
        if (cells.size() != commands.size() + 1 || !is_number(cells[0])) {
            throw std::runtime_error(path + ": exit table row \"" + lines[i] + "\" is not " +
                                     header);
        }
        for (std::size_t c = 0; c < commands.size(); ++c) {
            if (!cells[c + 1].empty()) statuses[commands[c]].insert(std::stoi(cells[0]));
        }
    }
    return statuses;
}

std::map<std::string, std::set<int>> readme_statuses(const std::string& path) {
    const auto lines = read_lines(path);
    std::map<std::string, std::set<int>> statuses;
    for (const auto& commands : kReadmeTables)
        statuses.merge(readme_statuses(lines, path, commands));
    return statuses;
}

// One line per status on one side only.
int compare(const std::string& where, const std::string& command, const Table& catalogue,
            const std::set<int>& documented) {
    int differences = 0;
    for (const auto& [status, causes] : catalogue) {
        if (documented.count(status)) continue;
        std::string list;
        for (const auto& cause : causes) list += (list.empty() ? "" : ", ") + cause;
        std::cout << "FAIL: " << where << ": " << command << " exits " << status << " (" << list
                  << ") but the table has no row for it\n";
        ++differences;
    }
    for (int status : documented) {
        if (catalogue.count(status)) continue;
        std::cout << "FAIL: " << where << ": " << command << " has a row for " << status
                  << ", a status the error catalogue never gives it\n";
        ++differences;
    }
    return differences;
}

int check(const std::string& dir) {
    int differences = 0;
    const auto readme = readme_statuses(dir + "/README.md");
    for (const char* command : kCommands) {
        const Table catalogue = catalogue_table(command);
        const auto in_readme = readme.find(command);
        differences += compare("README.md", command, catalogue,
                               in_readme == readme.end() ? std::set<int>{} : in_readme->second);
        const std::string man = "man/" + std::string(command) + ".h2m";
        differences += compare(man, command, catalogue, man_page_statuses(dir + "/" + man));
    }
    if (differences == 0) {
        std::cout << "README.md and man/*.h2m list the exit statuses of the error catalogue\n";
    }
    return differences == 0 ? 0 : 1;
}

void print() {
    for (const char* command : kCommands) {
        for (const auto& [status, causes] : catalogue_table(command)) {
            std::cout << command << " " << status << ":";
            for (const auto& cause : causes) std::cout << " " << cause << ";";
            std::cout << "\n";
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc == 3 && std::string(argv[1]) == "--check") return check(argv[2]);
        if (argc == 1) {
            print();
            return 0;
        }
        std::cerr << "usage: walferry-test-exit-table [--check SOURCE_DIR]\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "walferry-test-exit-table: " << e.what() << "\n";
        return 1;
    }
}
