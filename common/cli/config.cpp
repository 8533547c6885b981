#include "cli/config.h"

#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "base/error.h"
#include "store/s3/s3_target.h"

namespace walferry {

namespace {

class Reader {
  public:
    explicit Reader(std::string_view origin) : origin_(origin) {}

    [[noreturn]] void fail(std::string_view key, std::string_view why) const {
        throw Error(ErrorCode::kConfig,
                    "config \"" + origin_ + "\": " + std::string(key) + ": " + std::string(why));
    }

    // Every key of `table` must be one of `known`.
    void only_keys(const toml::table& table, std::string_view where,
                   std::initializer_list<std::string_view> known) const {
        for (const auto& [key, value] : table) {
            bool ok = false;
            for (auto k : known) ok = ok || k == key.str();
            if (!ok) fail(std::string(where) + std::string(key.str()), "unknown key");
        }
    }

    std::optional<std::string> text(const toml::table& t, std::string_view key) const {
        const toml::node* n = t.get(leaf(key));
        if (!n) return std::nullopt;
        if (!n->is_string()) fail(key, "must be a string");
        return n->value<std::string>();
    }

    std::optional<std::int64_t> integer(const toml::table& t, std::string_view key, std::int64_t lo,
                                        std::int64_t hi) const {
        const toml::node* n = t.get(leaf(key));
        if (!n) return std::nullopt;
        if (!n->is_integer()) fail(key, "must be an integer");
        std::int64_t v = *n->value<std::int64_t>();
        if (v < lo || v > hi) {
            fail(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
        }
        return v;
    }

    std::optional<bool> boolean(const toml::table& t, std::string_view key) const {
        const toml::node* n = t.get(leaf(key));
        if (!n) return std::nullopt;
        if (!n->is_boolean()) fail(key, "must be true or false");
        return n->value<bool>();
    }

  private:
    // Keys are passed qualified ("fetch.retries") so that messages name them in full.
    static std::string_view leaf(std::string_view key) { return key.substr(key.rfind('.') + 1); }
    std::string origin_;
};

// Sets `field` from `key` when the table has it; otherwise `field` keeps the default its struct
// declares (config.h, destination.h), the one place a default is written.
template <typename T>
void set_integer(const Reader& r, const toml::table& t, std::string_view key, std::int64_t lo,
                 std::int64_t hi, T& field) {
    if (auto v = r.integer(t, key, lo, hi)) field = static_cast<T>(*v);
}

std::string expand_home(const std::string& path) {
    if (!path.starts_with("~/")) return path;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
}

// The s3:// keys (destination.h); on any other destination they are a mistake, not a no-op.
void read_s3_keys(const Reader& r, const toml::table& t, Destination& d) {
    const bool s3 = d.location.scheme == Location::Scheme::kS3;
    for (std::string_view key : {"endpoint", "region", "uri_style", "access_key_id",
                                 "secret_access_key_file", "ca_file", "retries"}) {
        if (!s3 && t.contains(key)) {
            r.fail("destination." + std::string(key), "only for s3:// destinations");
        }
    }
    if (!s3) return;
    d.endpoint = r.text(t, "destination.endpoint").value_or(d.endpoint);
    d.region = r.text(t, "destination.region").value_or(d.region);
    d.uri_style = r.text(t, "destination.uri_style").value_or(d.uri_style);
    d.access_key_id = r.text(t, "destination.access_key_id").value_or(d.access_key_id);
    d.secret_access_key_file = expand_home(
        r.text(t, "destination.secret_access_key_file").value_or(d.secret_access_key_file));
    d.ca_file = expand_home(r.text(t, "destination.ca_file").value_or(d.ca_file));
    set_integer(r, t, "destination.retries", 0, 100, d.retries);
    try {
        s3_target(d);  // endpoint and uri_style checked now, not at the first push
    } catch (const Error& e) {
        r.fail("destination", e.what());
    }
}

Destination read_destination(const Reader& r, const toml::table& t, std::string_view cwd) {
    r.only_keys(t, "destination.",
                {"name", "url", "identity", "known_hosts", "accept_new_host_keys", "remote_sync",
                 "connect_timeout", "io_timeout", "endpoint", "region", "uri_style",
                 "access_key_id", "secret_access_key_file", "ca_file", "retries"});
    Destination d;
    auto url = r.text(t, "destination.url");
    if (!url) r.fail("destination.url", "missing");
    d.location = parse_location(*url, cwd);
    d.name = r.text(t, "destination.name").value_or(d.location.url());
    d.identity = expand_home(r.text(t, "destination.identity").value_or(d.identity));
    d.known_hosts = expand_home(r.text(t, "destination.known_hosts").value_or(d.known_hosts));
    d.accept_new_host_keys =
        r.boolean(t, "destination.accept_new_host_keys").value_or(d.accept_new_host_keys);
    d.remote_sync = r.boolean(t, "destination.remote_sync").value_or(d.remote_sync);
    set_integer(r, t, "destination.connect_timeout", 1, 3600, d.connect_timeout_s);
    set_integer(r, t, "destination.io_timeout", 1, 3600, d.io_timeout_s);
    read_s3_keys(r, t, d);
    return d;
}

// Integer seconds or a string with a unit (see parse_duration).
std::optional<std::int64_t> read_duration(const Reader& r, const toml::table& t,
                                          std::string_view key) {
    const toml::node* n = t.get(key.substr(key.rfind('.') + 1));
    if (!n) return std::nullopt;
    if (n->is_integer()) return r.integer(t, key, 0, INT64_MAX / 2);
    if (!n->is_string()) r.fail(key, "must be a duration like \"7d\", \"12h\", \"30m\" or seconds");
    try {
        return parse_duration(*n->value<std::string>(), key);
    } catch (const Error& e) {
        r.fail(key, e.what());
    }
}

void read_servers(const Reader& r, const toml::node& node, Config& c) {
    const toml::array* list = node.as_array();
    if (!list) r.fail("server", "must be an array of tables ([[server]])");
    std::set<std::string> names;
    for (const toml::node& item : *list) {
        const toml::table* t = item.as_table();
        if (!t) r.fail("server", "must be an array of tables ([[server]])");
        r.only_keys(*t, "server.", {"name", "conninfo"});
        ServerSpec s;
        s.name = r.text(*t, "server.name").value_or("");
        s.conninfo = r.text(*t, "server.conninfo").value_or("");
        if (s.name.empty()) r.fail("server.name", "missing");
        if (s.conninfo.empty()) r.fail("server.conninfo", "missing");
        if (!names.insert(s.name).second) r.fail("server.name", "duplicate \"" + s.name + "\"");
        c.servers.push_back(std::move(s));
    }
}

void read_cleanup(const Reader& r, const toml::node& node, Config& c) {
    const toml::table* t = node.as_table();
    if (!t) r.fail("cleanup", "must be a table ([cleanup])");
    r.only_keys(*t, "cleanup.", {"keep_backups", "keep_age", "consumer_ttl"});
    set_integer(r, *t, "cleanup.keep_backups", 0, 10000, c.cleanup.keep_backups);
    c.cleanup.keep_age_seconds =
        read_duration(r, *t, "cleanup.keep_age").value_or(c.cleanup.keep_age_seconds);
    c.cleanup.consumer_ttl_seconds =
        read_duration(r, *t, "cleanup.consumer_ttl").value_or(c.cleanup.consumer_ttl_seconds);
}

void read_status(const Reader& r, const toml::node& node, Config& c) {
    const toml::table* t = node.as_table();
    if (!t) r.fail("status", "must be a table ([status])");
    r.only_keys(*t, "status.", {"warn_lag", "crit_lag", "switch_timeout", "stale_consumer"});
    set_integer(r, *t, "status.warn_lag", 0, 1000000, c.status.warn_lag);
    set_integer(r, *t, "status.crit_lag", 0, 1000000, c.status.crit_lag);
    c.status.switch_timeout_seconds =
        read_duration(r, *t, "status.switch_timeout").value_or(c.status.switch_timeout_seconds);
    if (auto stale = read_duration(r, *t, "status.stale_consumer")) {
        c.status.stale_consumer_seconds = stale;
    }
}

void read_required(const Reader& r, const toml::table& t, Config& c) {
    const toml::node* n = t.get("required");
    if (!n) return;
    if (n->is_string() && n->value<std::string>() == "all") return;
    if (!n->is_integer()) r.fail("required", "must be \"all\" or a number of destinations");
    c.required = static_cast<int>(*r.integer(t, "required", 1, 1000));
}

}  // namespace

Config parse_config(std::string_view text, std::string_view origin, std::string_view cwd) {
    Reader r(origin);
    toml::table root;
    try {
        root = toml::parse(text, origin);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        r.fail("line " + std::to_string(where.line), std::string(e.description()));
    }
    r.only_keys(root, "",
                {"node", "spool", "compress_level", "threads", "required", "batch",
                 "backlog_cap_bytes", "destination", "fetch", "server", "cleanup", "status"});
    Config c;
    c.origin = origin;
    c.node = r.text(root, "node").value_or(c.node);
    c.spool = r.text(root, "spool").value_or(c.spool);
    set_integer(r, root, "compress_level", -7, 19, c.compress_level);
    set_integer(r, root, "threads", 0, 256, c.threads);
    set_integer(r, root, "batch", 1, 1024, c.batch);
    set_integer(r, root, "backlog_cap_bytes", 0, INT64_MAX, c.backlog_cap_bytes);
    read_required(r, root, c);
    if (const toml::node* n = root.get("destination")) {
        const toml::array* list = n->as_array();
        if (!list) r.fail("destination", "must be an array of tables ([[destination]])");
        std::set<std::string> names;
        for (const toml::node& item : *list) {
            const toml::table* t = item.as_table();
            if (!t) r.fail("destination", "must be an array of tables ([[destination]])");
            Destination d = read_destination(r, *t, cwd);
            if (!names.insert(d.name).second)
                r.fail("destination.name", "duplicate \"" + d.name + "\"");
            c.destinations.push_back(std::move(d));
        }
    }
    if (const toml::node* n = root.get("fetch")) {
        const toml::table* f = n->as_table();
        if (!f) r.fail("fetch", "must be a table ([fetch])");
        r.only_keys(*f, "fetch.", {"retries", "retry_delay_ms", "prefetch"});
        set_integer(r, *f, "fetch.retries", 0, 100, c.fetch.retries);
        set_integer(r, *f, "fetch.retry_delay_ms", 0, 600000, c.fetch.retry_delay_ms);
        set_integer(r, *f, "fetch.prefetch", 0, 1024, c.fetch.prefetch);
    }
    if (const toml::node* n = root.get("server")) read_servers(r, *n, c);
    if (const toml::node* n = root.get("cleanup")) read_cleanup(r, *n, c);
    if (const toml::node* n = root.get("status")) read_status(r, *n, c);
    if (c.required && !c.destinations.empty() &&
        *c.required > static_cast<int>(c.destinations.size())) {
        r.fail("required", "is larger than the number of destinations");
    }
    return c;
}

Config load_config(const std::optional<std::string>& explicit_path, std::string_view cwd) {
    std::string path;
    bool must_exist = true;
    if (explicit_path) {
        path = *explicit_path;
    } else if (const char* env = std::getenv("WALFERRY_CONFIG"); env && *env) {
        path = env;
    } else {
        path = kDefaultConfigPath;
        must_exist = false;
    }
    std::ifstream in(path);
    if (!in) {
        int err = errno;
        if (!must_exist && err == ENOENT) return Config{};
        throw Error(ErrorCode::kConfig,
                    "cannot read config \"" + path + "\": " + errno_text(err ? err : ENOENT));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config(text.str(), path, cwd);
}

std::int64_t parse_duration(std::string_view text, std::string_view what) {
    std::int64_t value = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        if (value > INT64_MAX / 1000) break;
        value = value * 10 + (text[i] - '0');
    }
    std::string_view unit = text.substr(i);
    std::int64_t scale = unit.empty() || unit == "s" ? 1
                         : unit == "m"               ? 60
                         : unit == "h"               ? 3600
                         : unit == "d"               ? 86400
                                                     : 0;
    if (i == 0 || scale == 0 || value > INT64_MAX / 1000 / scale) {
        throw Error(ErrorCode::kConfig, std::string(what) + ": invalid duration \"" +
                                            std::string(text) +
                                            "\" (use a number with s, m, h or d, like \"7d\")");
    }
    return value * scale;
}

std::vector<Destination> active_destinations(const Config& config) {
    std::vector<Destination> out;
    for (const auto& d : config.destinations) {
        if (config.node.empty() || d.name != config.node) out.push_back(d);
    }
    return out;
}

std::string current_directory() {
    char buf[4096];
    if (!::getcwd(buf, sizeof buf)) throw_io("cannot read current directory", ".", errno);
    return buf;
}

}  // namespace walferry
