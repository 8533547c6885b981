#include "archive/consumer_registry.h"

#include <toml++/toml.h>

#include <optional>
#include <set>

#include "base/error.h"
#include "base/escape.h"

namespace walferry {

namespace {

bool valid_consumer_name(std::string_view name) {
    bool ok = !name.empty() && name.size() <= 64 && name.front() != '.';
    for (char c : name) {
        ok = ok && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    c == '_' || c == '-' || c == '.');
    }
    return ok;
}

constexpr std::size_t kMaxRecordBytes = 65536;
constexpr std::string_view kTempSuffix = ".tmp";
// Without the lock: how often one record, and the whole set, is read again while writers change
// it under the reader (each round needs another writer's change to fail).
constexpr int kUnlockedRounds = 4;

ConsumerRecord parse_record(const std::string& name, const std::string& path,
                            const std::string& text) {
    auto bad = [&](const std::string& why) -> Error {
        return Error(ErrorCode::kInvalidState,
                     "cleanup consumer record \"" + path + "\" is damaged: " + why +
                         " (fix or remove it with --forget-consumer " + name + ")");
    };
    if (text.size() > kMaxRecordBytes) {
        throw bad("larger than " + std::to_string(kMaxRecordBytes) + " bytes");
    }
    toml::table t;
    try {
        t = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        throw bad(std::string(e.description()));
    }
    auto cutoff = t["cutoff"].value<std::string>();
    auto updated = t["updated"].value<std::int64_t>();
    if (!cutoff || !updated) throw bad("missing cutoff or updated");
    ConsumerRecord r;
    r.name = name;
    r.updated = *updated;
    if (!try_parse_wal_name(*cutoff, r.cutoff) || r.cutoff.kind != WalKind::kSegment ||
        r.cutoff.compressed) {
        throw bad("cutoff \"" + escape_bytes(*cutoff, 80) + "\" is not a WAL segment name");
    }
    return r;
}

// The consumer whose temp record `entry` is (".NAME.tmp"), or "" for any other '.'-name.
std::string temp_owner(const std::string& entry) {
    std::string name = entry.size() > 1 + kTempSuffix.size() && entry.ends_with(kTempSuffix)
                           ? entry.substr(1, entry.size() - 1 - kTempSuffix.size())
                           : std::string();
    return valid_consumer_name(name) ? name : std::string();
}

struct Listed {
    std::set<std::string> consumers;  // with a record or a temp record
    std::set<std::string> finals;     // with a record under its final name
};

Listed consumers_of(const std::vector<std::string>& entries, const ConsumerStore& store) {
    Listed out;
    for (const std::string& entry : entries) {
        if (entry.front() == '.') {
            if (std::string name = temp_owner(entry); !name.empty()) out.consumers.insert(name);
            continue;
        }
        try {
            check_consumer_name(entry);
        } catch (const Error& err) {
            throw Error(ErrorCode::kInvalidState, "stray file \"" + store.where(entry) +
                                                      "\" among cleanup consumers (" + err.what() +
                                                      "); remove it by hand");
        }
        out.consumers.insert(entry);
        out.finals.insert(entry);
    }
    return out;
}

// NAME's record as it is now: under its final name, else its temp record if complete (its writer
// stopped, or is, between removing the old record and renaming: SFTP cannot replace in one step;
// or before its first rename). An incomplete temp record without a final name can only be an
// unfinished first one, and is skipped: nullopt, as for a record that is gone. Nothing else is:
// a read that fails (permission denied, a dropped connection) is an error, since that temp may be
// the only record of its consumer and cleanup never decides on partial knowledge. Without the
// lock a writer may rename or start a new temp between two reads: a few rounds then.
std::optional<ConsumerRecord> current_record(ConsumerStore& store, const std::string& name,
                                             int rounds) {
    const std::string temp = consumer_temp_name(name);
    for (int round = 0; round < rounds; ++round) {
        if (std::optional<std::string> text = store.read(name, kMaxRecordBytes)) {
            return parse_record(name, store.where(name), *text);
        }
        std::optional<std::string> text = store.read(temp, kMaxRecordBytes);
        if (!text) continue;  // renamed to its final name meanwhile, or forgotten
        try {
            return parse_record(name, store.where(temp), *text);
        } catch (const Error& err) {
            if (err.code() != ErrorCode::kInvalidState) throw;
            // incomplete: unfinished, or a newer replace began after a rename we missed
        }
    }
    return std::nullopt;
}

}  // namespace

void check_consumer_name(std::string_view name) {
    if (!valid_consumer_name(name)) {
        throw Error(ErrorCode::kUsage, "invalid consumer name \"" + escape_bytes(name, 80) +
                                           "\": use 1 to 64 letters, digits, '_', '-' or '.', "
                                           "not starting with '.'");
    }
}

std::string consumer_temp_name(std::string_view name) {
    return "." + std::string(name) + std::string(kTempSuffix);
}

ConsumerRegistry::ConsumerRegistry(Store& archive, ConsumerAccess access, int lock_wait_s)
    : store_(archive.consumers(access, lock_wait_s)) {}

ConsumerRegistry::ConsumerRegistry(std::unique_ptr<ConsumerStore> store)
    : store_(std::move(store)) {}

std::vector<ConsumerRecord> ConsumerRegistry::load_listed(
    const std::vector<std::string>& entries) const {
    const Listed listed = consumers_of(entries, *store_);
    const bool locked = store_->locked();
    std::vector<ConsumerRecord> out;
    for (const std::string& name : listed.consumers) {
        if (std::optional<ConsumerRecord> r =
                current_record(*store_, name, locked ? 1 : kUnlockedRounds)) {
            out.push_back(std::move(*r));
        } else if (locked && listed.finals.count(name)) {
            throw Error(ErrorCode::kInvalidState,
                        "\"" + store_->where(name) + "\" vanished under the lock");
        }
    }
    return out;  // sorted by name: a std::set's order
}

std::vector<ConsumerRecord> ConsumerRegistry::load() const {
    if (!store_->has_state()) return {};
    std::vector<std::string> entries = store_->entries();
    if (store_->locked()) return load_listed(entries);
    for (int round = 0; round < kUnlockedRounds; ++round) {
        std::vector<ConsumerRecord> out = load_listed(entries);
        std::vector<std::string> after = store_->entries();
        if (consumers_of(after, *store_).consumers == consumers_of(entries, *store_).consumers) {
            return out;
        }
        entries = std::move(after);
    }
    throw Error(ErrorCode::kUnavailable, "the cleanup consumers in \"" + store_->where("") +
                                             "\" kept changing while being read; try again");
}

void ConsumerRegistry::record(const std::string& name, const WalName& cutoff,
                              std::int64_t now) const {
    check_consumer_name(name);
    if (!store_->has_state()) {
        throw Error(ErrorCode::kInternal, "recording into a registry not created");
    }
    const std::string text =
        "cutoff = \"" + cutoff.wal_file_name() + "\"\nupdated = " + std::to_string(now) + "\n";
    store_->publish(consumer_temp_name(name), name, text);
}

bool ConsumerRegistry::forget(const std::string& name) const {
    check_consumer_name(name);
    if (!store_->has_state()) return false;
    const bool had = store_->remove(name);
    return store_->remove(consumer_temp_name(name)) || had;
}

}  // namespace walferry
