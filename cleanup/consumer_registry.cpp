#include "cleanup/consumer_registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <set>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/unique_fd.h"

namespace walferry {

namespace {

void make_dir(const std::string& path) {
    if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) throw_io("cannot create", path, errno);
}

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

// A temp record whose final name is missing: its writer stopped after removing the old record
// (SFTP cannot replace in one step) or before its first rename. Complete (it parses), it is the
// record; incomplete, it can only be an unfinished first one, and is skipped. Nothing else is:
// a read that fails (permission denied, a dropped connection) is an error, since that temp may
// be the only record of its consumer and cleanup never decides on partial knowledge.
std::optional<ConsumerRecord> load_temp_record(ConsumerStore& store, const std::string& entry,
                                               const std::set<std::string>& present) {
    const std::string name = entry.size() > 1 + kTempSuffix.size() && entry.ends_with(kTempSuffix)
                                 ? entry.substr(1, entry.size() - 1 - kTempSuffix.size())
                                 : std::string();
    if (name.empty() || present.count(name) || !valid_consumer_name(name)) return std::nullopt;
    if (std::optional<std::string> text = store.read(entry, kMaxRecordBytes)) {
        try {
            return parse_record(name, store.where(entry), *text);
        } catch (const Error& err) {
            if (err.code() != ErrorCode::kInvalidState) throw;
            return std::nullopt;  // incomplete
        }
    }
    // Renamed to its final name meanwhile by a writer of the other kind (local and SFTP cleanups
    // do not share a lock): that record, then.
    std::optional<std::string> text = store.read(name, kMaxRecordBytes);
    if (!text) {
        throw Error(ErrorCode::kInvalidState,
                    "\"" + store.where(entry) + "\" vanished while being read");
    }
    return parse_record(name, store.where(name), *text);
}

// Records as files in <archive>/.walferry-cleanup/consumers, the lock a flock() on
// <archive>/.walferry-cleanup/lock.
class LocalConsumerStore final : public ConsumerStore {
  public:
    LocalConsumerStore(const std::string& archive_dir, bool create) {
        const std::string state_dir = archive_dir + "/" + std::string(kCleanupStateDir);
        if (create) {
            make_dir(state_dir);
            make_dir(state_dir + "/consumers");
        } else {
            struct stat st {};
            if (::stat(state_dir.c_str(), &st) != 0) {
                if (errno == ENOENT) return;
                throw_io("cannot stat", state_dir, errno);
            }
        }
        dir_ = state_dir + "/consumers";
        const std::string lock_path = state_dir + "/lock";
        lock_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
        if (!lock_) throw_io("cannot open", lock_path, errno);
        if (retry_eintr([&] { return ::flock(lock_.get(), LOCK_EX); }) != 0) {
            throw_io("cannot lock", lock_path, errno);
        }
    }

    bool has_state() const override { return !dir_.empty(); }

    std::vector<std::string> entries() override {
        UniqueFd dir = open_dir();
        std::vector<std::string> out;
        for (DirEntry& entry : list_dir(dir.get(), dir_, "cannot list")) {
            out.push_back(std::move(entry.name));
        }
        return out;
    }

    std::optional<std::string> read(const std::string& entry, std::size_t max_bytes) override {
        const std::string path = where(entry);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd && errno == ENOENT) return std::nullopt;
        if (!fd) throw_io("cannot open", path, errno);
        return read_all(fd.get(), path, max_bytes);
    }

    void publish(const std::string& temp_name, const std::string& name,
                 const std::string& text) override {
        // Replacing is the point here (a consumer moves its cutoff); the lock orders writers, so
        // the temp name is fixed (truncated if a stopped writer left it).
        UniqueFd dir = open_dir();
        write_file_durably(dir.get(), dir_, name, TempName{temp_name, 0, 0640}, text,
                           Publish::kReplace);
    }

    bool remove(const std::string& entry) override {
        const std::string path = where(entry);
        if (::unlink(path.c_str()) != 0) {
            if (errno == ENOENT) return false;
            throw_io("cannot remove", path, errno);
        }
        fsync_dir(dir_);
        return true;
    }

    std::string where(const std::string& entry) const override { return dir_ + "/" + entry; }

  private:
    UniqueFd open_dir() const {
        UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!fd) throw_io("cannot open", dir_, errno);
        return fd;
    }

    std::string dir_;  // empty: the archive has no cleanup state
    UniqueFd lock_;
};

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

ConsumerRegistry::ConsumerRegistry(const std::string& archive_dir, bool create)
    : store_(std::make_unique<LocalConsumerStore>(archive_dir, create)) {}

ConsumerRegistry::ConsumerRegistry(std::unique_ptr<ConsumerStore> store)
    : store_(std::move(store)) {}

std::vector<ConsumerRecord> ConsumerRegistry::load() const {
    if (!store_->has_state()) return {};
    const std::vector<std::string> entries = store_->entries();
    const std::set<std::string> present(entries.begin(), entries.end());
    std::vector<ConsumerRecord> out;
    for (const std::string& entry : entries) {
        if (entry.front() == '.') {
            if (std::optional<ConsumerRecord> r = load_temp_record(*store_, entry, present)) {
                out.push_back(std::move(*r));
            }
            continue;
        }
        const std::string path = store_->where(entry);
        try {
            check_consumer_name(entry);
        } catch (const Error& err) {
            throw Error(ErrorCode::kInvalidState, "stray file \"" + path +
                                                      "\" among cleanup consumers (" + err.what() +
                                                      "); remove it by hand");
        }
        std::optional<std::string> text = store_->read(entry, kMaxRecordBytes);
        if (!text)
            throw Error(ErrorCode::kInvalidState, "\"" + path + "\" vanished under the lock");
        out.push_back(parse_record(entry, path, *text));
    }
    std::sort(out.begin(), out.end(),
              [](const ConsumerRecord& a, const ConsumerRecord& b) { return a.name < b.name; });
    return out;
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
