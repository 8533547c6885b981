#include "pg/pg_connection.h"

#include <libpq-fe.h>

#include "base/error.h"

namespace walferry {

namespace {

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

std::string one_line(const char* text) {
    std::string out = text ? text : "";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    for (char& c : out) c = (c == '\n' || c == '\t') ? ' ' : c;
    return out;
}

}  // namespace

PgConnection::PgConnection(std::string name, const std::string& conninfo,
                           const char* application_name, std::string consequence)
    : name_(std::move(name)), consequence_(std::move(consequence)) {
    // connect_timeout first: a value in the operator's conninfo overrides it.
    const char* keys[] = {"connect_timeout", "dbname", "application_name", nullptr};
    const char* values[] = {"10", conninfo.c_str(), application_name, nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = one_line(conn_ ? PQerrorMessage(conn_) : "out of memory");
        PQfinish(conn_);
        conn_ = nullptr;
        fail("cannot connect: " + why);
    }
}

PgConnection::~PgConnection() {
    PQfinish(conn_);
}

std::vector<std::string> PgConnection::row(const char* sql) {
    PgResult res(PQexec(conn_, sql), &PQclear);
    if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
        fail("query failed: " + one_line(PQerrorMessage(conn_)));
    }
    if (PQntuples(res.get()) != 1) fail(std::string("unexpected result of ") + sql);
    std::vector<std::string> out;
    for (int i = 0; i < PQnfields(res.get()); ++i) out.emplace_back(PQgetvalue(res.get(), 0, i));
    return out;
}

void PgConnection::fail(const std::string& why) const {
    throw Error(ErrorCode::kUnavailable, "server \"" + name_ + "\": " + why +
                                             (consequence_.empty() ? "" : "; " + consequence_));
}

}  // namespace walferry
