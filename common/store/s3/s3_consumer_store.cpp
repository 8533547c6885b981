#include "store/s3/s3_consumer_store.h"

#include <charconv>
#include <ctime>
#include <thread>

#include "base/error.h"
#include "store/lock_holder.h"
#include "store/s3/s3_store.h"

namespace walferry {

namespace {

constexpr auto kLockPoll = std::chrono::milliseconds(500);
constexpr std::size_t kLockBytes = 4096;
constexpr int kGenerationDigits = 20;

}  // namespace

std::string s3_lock_name(std::uint64_t g) {
    std::string digits = std::to_string(g);
    return std::string(kS3LockPrefix) +
           std::string(static_cast<std::size_t>(kGenerationDigits) - digits.size(), '0') + digits;
}

std::uint64_t s3_lock_generation(std::string_view name) {
    if (!name.starts_with(kS3LockPrefix)) return 0;
    std::string_view digits = name.substr(kS3LockPrefix.size());
    if (digits.size() != static_cast<std::size_t>(kGenerationDigits)) return 0;
    std::uint64_t g = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), g);
    return ec == std::errc() && end == digits.data() + digits.size() ? g : 0;
}

S3LockState parse_s3_lock(std::string_view text) {
    S3LockState out;
    // Anything but an explicit "free" counts as held: a damaged lock is never taken lightly.
    out.held = text.find("state=free\n") == std::string_view::npos;
    out.holder = describe_lock_holder(text);
    return out;
}

bool s3_lock_expired(std::int64_t last_modified, std::int64_t now) {
    return last_modified > 0 && now > 0 && now - last_modified > kS3LockTtlSeconds;
}

S3ConsumerStore::S3ConsumerStore(S3Store& archive, ConsumerAccess access, int lock_wait_s)
    : store_(archive),
      state_(std::string(kCleanupStateDir) + "/"),
      consumers_(state_ + "consumers/") {
    if (access != ConsumerAccess::kCreate && store_.list_objects(state_).empty()) return;
    has_state_ = true;
    if (access == ConsumerAccess::kRead) return;
    lock(lock_wait_s);
    store_.before_remove = [this] { check_held(); };
}

S3ConsumerStore::~S3ConsumerStore() {
    store_.before_remove = nullptr;
    if (generation_ == 0) return;
    try {
        // Released: the next generation says so (412: taken over after our expiry, nothing to
        // release).
        store_.put_object(state_ + s3_lock_name(generation_ + 1),
                          "state=free\n" + lock_holder_record(), true);
    } catch (const Error&) {
        // Left held: the next cleanup takes it over once it expires.
    }
}

std::uint64_t S3ConsumerStore::newest_generation() {
    std::uint64_t newest = 0;
    for (const std::string& key : store_.list_objects(state_ + std::string(kS3LockPrefix))) {
        newest = std::max(newest, s3_lock_generation(key.substr(state_.size())));
    }
    return newest;
}

// Who holds generation `g`, or nullopt if it is free to follow: free, expired, or gone (removed
// by a newer holder, whose generation the create of g + 1 then runs into).
std::optional<std::string> S3ConsumerStore::holder_of(std::uint64_t g) {
    if (g == 0) return std::nullopt;
    std::optional<S3Store::Object> current =
        store_.get_object(state_ + s3_lock_name(g), kLockBytes);
    if (!current) return std::nullopt;
    S3LockState state = parse_s3_lock(current->body);
    if (!state.held || s3_lock_expired(current->last_modified, current->date)) return std::nullopt;
    return state.holder;
}

// Creates generation newest + 1 as ours; true if it is then the newest (see the header).
bool S3ConsumerStore::take(std::uint64_t newest) {
    const auto sent = std::chrono::steady_clock::now();
    const std::uint64_t mine = newest + 1;
    if (!store_.put_object(state_ + s3_lock_name(mine), "state=held\n" + lock_holder_record(),
                           true) ||
        newest_generation() != mine) {
        return false;
    }
    generation_ = mine;
    expires_ = sent + std::chrono::seconds(kS3LockTtlSeconds);
    for (const std::string& key : store_.list_objects(state_ + std::string(kS3LockPrefix))) {
        const std::uint64_t g = s3_lock_generation(key.substr(state_.size()));
        if (g != 0 && g < mine) store_.delete_object(key);
    }
    return true;
}

void S3ConsumerStore::lock(int lock_wait_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(lock_wait_s);
    for (;;) {
        const std::uint64_t newest = newest_generation();
        std::optional<std::string> holder = holder_of(newest);
        if (!holder) {
            if (take(newest)) return;
            continue;  // another cleanup moved first
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw Error(ErrorCode::kUnavailable,
                        "cleanup lock \"" + store_.url_of(state_ + s3_lock_name(newest)) +
                            "\" is held by " + *holder + "; gave up after " +
                            std::to_string(lock_wait_s) + " s (a lock not released is taken over " +
                            std::to_string(kS3LockTtlSeconds / 60) + " min after it was taken)");
        }
        std::this_thread::sleep_for(kLockPoll);
    }
}

void S3ConsumerStore::check_held() const {
    if (generation_ == 0) return;
    if (std::chrono::steady_clock::now() + std::chrono::seconds(kS3LockMarginSeconds) < expires_)
        return;
    throw Error(ErrorCode::kUnavailable,
                "cleanup lock \"" + store_.url_of(state_ + s3_lock_name(generation_)) +
                    "\" expires within " + std::to_string(kS3LockMarginSeconds) +
                    " s (held since " + std::to_string(kS3LockTtlSeconds / 60) +
                    " min ago): stopped before changing more; run again");
}

std::vector<std::string> S3ConsumerStore::entries() {
    std::vector<std::string> out;
    for (const std::string& key : store_.list_objects(consumers_)) {
        std::string name = key.substr(consumers_.size());
        if (!name.empty() && name.find('/') == std::string::npos) out.push_back(std::move(name));
    }
    return out;
}

std::optional<std::string> S3ConsumerStore::read(const std::string& entry, std::size_t max_bytes) {
    std::optional<S3Store::Object> object = store_.get_object(consumers_ + entry, max_bytes);
    if (!object) return std::nullopt;
    return std::move(object->body);
}

void S3ConsumerStore::publish(const std::string& /*temp*/, const std::string& name,
                              const std::string& text) {
    check_held();
    store_.put_object(consumers_ + name, text, false);  // one PUT replaces it whole
}

bool S3ConsumerStore::remove(const std::string& entry) {
    return store_.delete_object(consumers_ + entry);
}

std::string S3ConsumerStore::where(const std::string& entry) const {
    return store_.url_of(consumers_ + entry);
}

}  // namespace walferry
