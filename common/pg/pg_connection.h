// One libpq connection to a configured server ([[server]] conninfo), for the commands that ask
// a live PostgreSQL something: walferry-cleanup --prune, walferry-status --check.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct pg_conn;

namespace walferry {

class PgConnection {
  public:
    // Connects (connect_timeout 10 s unless the conninfo says otherwise). Every failure is
    // Error(kUnavailable, "server \"<name>\": <why>[; <consequence>]").
    PgConnection(std::string name, const std::string& conninfo, const char* application_name,
                 std::string consequence = {});
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // The single row of `sql`, every column as text ("" for NULL).
    std::vector<std::string> row(const char* sql);

    [[noreturn]] void fail(const std::string& why) const;

  private:
    std::string name_;
    std::string consequence_;
    pg_conn* conn_ = nullptr;
};

}  // namespace walferry
