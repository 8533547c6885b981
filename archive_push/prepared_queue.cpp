#include "archive_push/prepared_queue.h"

#include <algorithm>

#include "base/error.h"

namespace walferry {

PreparedQueue::PreparedQueue(std::vector<std::string> paths, const CompressOptions& options)
    : paths_(std::move(paths)),
      slots_(paths_.size()),
      limit_(paths_.size()),
      unfinished_(paths_.size()) {
    if (unfinished_ == 0) return;
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t count = std::min(cores, unfinished_);
    for (std::size_t i = 0; i < count; ++i)
        workers_.emplace_back([this, options] { work(options); });
}

PreparedQueue::~PreparedQueue() {
    {
        std::lock_guard lock(mutex_);
        limit_ = std::min(limit_, next_);  // nothing new is started
    }
    workers_.clear();  // joins
}

void PreparedQueue::work(const CompressOptions& options) {
    for (;;) {
        std::size_t i = 0;
        {
            std::lock_guard lock(mutex_);
            if (next_ >= limit_) return;
            i = next_++;
        }
        std::optional<PreparedWal> prepared;
        std::optional<Error> error;
        try {
            prepared.emplace(prepare_wal_file(paths_[i], options));
        } catch (const Error& e) {
            error = e;  // for a look-ahead file, its own call will push it and say what is wrong
        } catch (const std::exception& e) {
            error = Error(ErrorCode::kInternal, e.what());
        }
        std::lock_guard lock(mutex_);
        if (i == 0 && error) first_error_ = error;
        if (prepared && i < limit_) {
            slots_[i] = std::move(prepared);
            --unfinished_;
        } else if (i < limit_) {
            // The batch ends before i: files i.. that were counted as unfinished no longer are,
            // except those already prepared (they stay in their slots and are ignored).
            for (std::size_t j = i; j < limit_; ++j) {
                if (!slots_[j]) --unfinished_;
            }
            limit_ = i;
        }
        changed_.notify_all();
    }
}

const PreparedWal* PreparedQueue::wait(std::size_t i) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return i >= limit_ || slots_[i].has_value(); });
    return i < limit_ ? &*slots_[i] : nullptr;
}

std::optional<Error> PreparedQueue::error() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return limit_ == 0 || slots_[0].has_value(); });
    return first_error_;
}

std::size_t PreparedQueue::final_count() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return unfinished_ == 0; });
    return limit_;
}

}  // namespace walferry
