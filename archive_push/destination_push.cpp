#include "archive_push/destination_push.h"

#include <memory>
#include <string>
#include <thread>

#include "archive_push/unreachable.h"

namespace walferry {

namespace {

Error not_tried(std::int64_t failed_s_ago) {
    return Error(ErrorCode::kUnavailable, "not tried: it failed " + std::to_string(failed_s_ago) +
                                              " s ago (tried again " +
                                              std::to_string(kRetryUnreachableAfterS) +
                                              " s after a failure, or now by --drain)");
}

// One destination's thread.
class DestinationPush {
  public:
    DestinationPush(const Spool& spool, const CompressOptions& compress, const StoreOpener& opener,
                    PreparedQueue* queue, DestinationRun& run)
        : spool_(spool),
          compress_(compress),
          opener_(opener),
          destination_(*run.destination),
          queue_(queue),
          run_(run) {
        run_.files.resize(queue ? queue->capacity() : 0);
    }

    // `skip_age`: how long ago it failed, when this push leaves it alone.
    void run(std::optional<std::int64_t> skip_age) {
        if (skip_age) return fail_rest(not_tried(*skip_age), false);
        try {
            send();
        } catch (const Error& e) {
            fail_rest(e, true);
        } catch (const std::exception& e) {
            fail_rest(Error(ErrorCode::kInternal, e.what()), true);
        }
    }

  private:
    void send() {
        std::unique_ptr<Store> store = opener_(destination_);
        if (queue_) store->warm_up();  // the handshake while the batch is being compressed
        send_backlog(*store);
        if (run_.drain && run_.drain->failure) return fail_rest(*run_.drain->failure, true);
        if (std::optional<Error> e = publish_batch(*store)) return fail_rest(*e, true);
        note_reachable(spool_, destination_.name);  // it answered every time (sftp connects
                                                    // lazily)
    }

    void send_backlog(Store& store) {
        try {
            if (auto backlog = spool_.backlog(destination_.name, false))
                run_.drain = drain_backlog(*backlog, store, compress_);
        } catch (const Error& e) {
            run_.spool_error = e;
        }
    }

    // The files of the batch as they are prepared; the first failure that is no refusal, which
    // ends it (the file it failed counted as tried).
    std::optional<Error> publish_batch(Store& store) {
        Publisher publisher(store);
        for (; queue_; ++next_) {
            const PreparedWal* wal = queue_->wait(next_);
            if (!wal) break;
            try {
                run_.files[next_].outcome = publisher.publish(*wal, next_ == 0);
            } catch (const Error& e) {
                run_.files[next_].error = e;
                if (!is_refusal(e.code())) {
                    ++next_;
                    return e;
                }
            }
        }
        return std::nullopt;
    }

    // Every file not tried yet fails with `e`; a destination that was tried and did not answer
    // is remembered as unreachable.
    void fail_rest(const Error& e, bool tried) {
        if (tried && !is_refusal(e.code())) note_unreachable(spool_, destination_.name);
        if (!queue_) return;
        for (const std::size_t count = queue_->final_count(); next_ < count; ++next_)
            run_.files[next_].error = e;
    }

    const Spool& spool_;
    const CompressOptions& compress_;
    const StoreOpener& opener_;
    const Destination& destination_;
    PreparedQueue* queue_;
    DestinationRun& run_;
    std::size_t next_ = 0;  // the next file of the batch
};

}  // namespace

std::vector<DestinationRun> push_to_destinations(
    const std::vector<Destination>& destinations, const Spool& spool,
    const CompressOptions& compress, const StoreOpener& opener, PreparedQueue* queue,
    const std::vector<std::optional<std::int64_t>>& skip_ages) {
    std::vector<DestinationRun> runs(destinations.size());
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 0; i < runs.size(); ++i) {
            runs[i].destination = &destinations[i];
            std::optional<std::int64_t> skip_age = skip_ages.empty() ? std::nullopt : skip_ages[i];
            threads.emplace_back([&, queue, &run = runs[i], skip_age] {
                DestinationPush(spool, compress, opener, queue, run).run(skip_age);
            });
        }
    }
    return runs;
}

}  // namespace walferry
