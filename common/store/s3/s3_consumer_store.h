// Cleanup consumers of an s3:// archive: the same records as a local archive
// (archive/consumer_registry.h), one object each, and a lock made of create-only objects.
//
//   PREFIX/.walferry-cleanup/consumers/<NAME>        one PUT replaces it whole (S3 PUTs are
//                                                    atomic: no temp object is needed)
//   PREFIX/.walferry-cleanup/s3-lock.<20 digits>     the lock's history, one object per change
//
// The lock. S3 has no lock and no compare-and-swap on an existing key, only create-only PUT
// (If-None-Match: *), so the lock is a sequence of generations, each created once and never
// rewritten: the newest generation says whether the lock is held (by whom, for at most
// kS3LockTtlSeconds) or free. To take it, a cleanup reads the newest generation G and, if it
// is free or held past its expiry, creates G+1 saying "held by me"; only one creator of G+1
// can win, the others get 412 and look again. The winner then lists the generations once more
// and holds the lock only if G+1 is still the newest (a creator that was slow enough to find an
// old generation after newer ones were removed loses there). Releasing creates G+2 "free".
// Expiry is judged on the store's clock (the newest generation's Last-Modified against the
// Date of the answer), so the hosts' clocks do not matter; the holder counts its own expiry on
// its monotonic clock from before its create was sent, and stops (Error(kUnavailable)) before
// recording or removing anything once less than kS3LockMarginSeconds of it are left. So an
// expired lock may be taken over by the next cleanup without two ever removing at once. Older
// generations are removed by the holder.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "store/consumer_store.h"

namespace walferry {

class S3Store;

inline constexpr std::int64_t kS3LockTtlSeconds = std::int64_t{10} * 60;
inline constexpr std::int64_t kS3LockMarginSeconds = 60;
inline constexpr std::string_view kS3LockPrefix = "s3-lock.";

class S3ConsumerStore final : public ConsumerStore {
  public:
    // Like the local store (ConsumerAccess): kCreate makes the state (and takes the lock); an
    // archive with no state object has no consumers and no lock is taken; kRead takes none.
    S3ConsumerStore(S3Store& archive, ConsumerAccess access, int lock_wait_s);
    ~S3ConsumerStore() override;
    S3ConsumerStore(const S3ConsumerStore&) = delete;
    S3ConsumerStore& operator=(const S3ConsumerStore&) = delete;

    bool has_state() const override { return has_state_; }
    bool locked() const override { return generation_ != 0; }
    std::vector<std::string> entries() override;
    std::optional<std::string> read(const std::string& entry, std::size_t max_bytes) override;
    void publish(const std::string& temp, const std::string& name,
                 const std::string& text) override;
    bool remove(const std::string& entry) override;
    std::string where(const std::string& entry) const override;

  private:
    void lock(int lock_wait_s);
    std::optional<std::string> holder_of(std::uint64_t g);
    bool take(std::uint64_t newest);
    void check_held() const;
    std::uint64_t newest_generation();

    S3Store& store_;
    std::string state_;      // ".walferry-cleanup/"
    std::string consumers_;  // ".walferry-cleanup/consumers/"
    bool has_state_ = false;
    std::uint64_t generation_ = 0;  // the one we hold; 0: none
    std::chrono::steady_clock::time_point expires_{};
};

// The lock object of generation `g`: "s3-lock.00000000000000000042".
std::string s3_lock_name(std::uint64_t g);
// Its generation, or 0 for a name that is not one.
std::uint64_t s3_lock_generation(std::string_view name);

struct S3LockState {
    bool held = false;
    std::string holder;  // describe_lock_holder() of its text
};
// What a generation's text says ("state=held\nhost=...\npid=...\ntime=...\n").
S3LockState parse_s3_lock(std::string_view text);
// Whether a held generation written at `last_modified` has expired at `now` (the store's clock).
bool s3_lock_expired(std::int64_t last_modified, std::int64_t now);

}  // namespace walferry
