// The files of one push (%p, then its look-ahead batch) as they are read and compressed by a
// few worker threads, handed to the destination threads in order as soon as each is ready: the
// SSH handshakes and the first uploads overlap the compression of the rest of the batch.
//
// File 0 is %p: if it cannot be prepared the batch is empty and error() says why (the
// destination threads, already connecting, then only send their backlog). A look-ahead file that
// cannot be prepared ends the batch there: it and every later one are left to their own calls,
// which will report them.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "archive/container.h"
#include "archive_push/wal_file.h"
#include "base/error.h"

namespace walferry {

class PreparedQueue {
  public:
    // `paths`: %p, then the look-ahead files in order. Starts the workers (at most one per
    // core, at least one) at once; the first one takes %p.
    PreparedQueue(std::vector<std::string> paths, const CompressOptions& options);
    ~PreparedQueue();  // joins the workers
    PreparedQueue(const PreparedQueue&) = delete;
    PreparedQueue& operator=(const PreparedQueue&) = delete;

    // File `i` once it is prepared; nullptr if the batch ends before `i`. Blocks until known.
    const PreparedWal* wait(std::size_t i);

    // How many files the batch holds, once every worker is done. Blocks until known.
    std::size_t final_count();

    // Upper bound on the count, known at once.
    std::size_t capacity() const noexcept { return slots_.size(); }

    // Why %p could not be prepared, once known (blocks until then); nullopt if it was.
    std::optional<Error> error();

  private:
    void work(const CompressOptions& options);

    std::vector<std::string> paths_;
    std::vector<std::optional<PreparedWal>> slots_;
    std::optional<Error> first_error_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t next_ = 0;    // next index a worker takes
    std::size_t limit_;       // files at or after this index are not part of the batch
    std::size_t unfinished_;  // files below limit_ not prepared yet
    std::vector<std::jthread> workers_;
};

}  // namespace walferry
