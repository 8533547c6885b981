#include "archive_fetch/prefetch.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <memory>

#include "archive/checked_reader.h"
#include "archive_fetch/prefetch_plan.h"
#include "base/durable_file.h"
#include "base/error.h"
#include "base/spool_dir.h"

namespace walferry {

namespace {

// A worker that runs longer than this per segment of its window is ended (SIGALRM), which also
// releases its lock: a hung source never keeps the next worker out for good.
constexpr unsigned kWorkerSecondsPerSegment = 60;

// In the worker: the lock as fd 3, stdin/stdout/stderr on /dev/null, every other fd closed (the
// calling process's pipes, PostgreSQL's sockets and files). The lock moves first, in case the
// caller ran with a standard descriptor closed and the lock got its number.
void detach_fds(int lock_fd) {
    if (lock_fd != 3 && ::dup2(lock_fd, 3) < 0) ::_exit(0);
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd < 0) ::_exit(0);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null_fd, fd);
    ::close_range(4, ~0U, 0);
}

// Forks twice; the grandchild, in a session of its own and with nothing of its caller's but
// the lock, runs `window` into the spool and exits. The caller waits only for the middle
// process, which exits at once.
void spawn_worker(PrefetchSpool& spool, const std::vector<Destination>& sources,
                  const StoreOpener& opener, const std::vector<WalName>& window, UniqueFd lock) {
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) return;
    if (child == 0) {
        ::setsid();
        if (::fork() != 0) ::_exit(0);
        spool.close_dir();  // before its number is reused by detach_fds; opened again, checked
        detach_fds(lock.get());
        if (::chdir("/") != 0) ::_exit(0);
        ::alarm(kWorkerSecondsPerSegment * static_cast<unsigned>(window.size()));
        try {
            fill_spool(spool, sources, window, opener);
        } catch (...) {
            // Nothing to tell: the calls that follow fetch from the sources.
        }
        ::_exit(0);
    }
    retry_eintr([&] { return ::waitpid(child, nullptr, 0); });
}

}  // namespace

std::optional<Prefetcher> Prefetcher::open(const Config& config,
                                           const std::vector<Destination>& sources,
                                           const std::string& target_path,
                                           std::optional<std::uint64_t> server_sysid, bool verbose,
                                           StoreOpener opener) {
    if (config.fetch.prefetch <= 0) return std::nullopt;
    bool remote = false;
    for (const Destination& s : sources)
        remote = remote || s.location.scheme != Location::Scheme::kFile;
    if (!remote) return std::nullopt;
    Prefetcher p(
        PrefetchSpool(config.spool, prefetch_dir(target_path, sources), server_sysid.value_or(0)),
        sources, std::move(opener), config.fetch.prefetch, verbose);
    if (!server_sysid) {
        p.warn("no global/pg_control in the data directory of \"" + target_path +
               "\" or in the working directory: the recovering server's cluster is unknown; no "
               "prefetch");
        return std::nullopt;
    }
    if (config.spool.empty() || config.spool[0] != '/') {
        p.warn("spool \"" + config.spool + "\" is not an absolute path; no prefetch");
        return std::nullopt;
    }
    try {
        check_spool_outside_data_dir(config.spool, target_path);
        p.spool_.open_existing();
    } catch (const Error& e) {
        // A spool directory that is not ours is said even without -v: someone may be at work.
        if (e.code() == ErrorCode::kInvalidState)
            std::fprintf(stderr, "walferry-fetch: warning: %s; no prefetch\n", e.what());
        else
            p.warn(std::string(e.what()) + "; no prefetch");
        return std::nullopt;
    }
    return p;
}

Prefetcher::Prefetcher(PrefetchSpool spool, std::vector<Destination> sources, StoreOpener opener,
                       int depth, bool verbose)
    : spool_(std::move(spool)),
      sources_(std::move(sources)),
      opener_(std::move(opener)),
      depth_(depth),
      verbose_(verbose) {}

void Prefetcher::warn(const std::string& message) const {
    if (verbose_) std::fprintf(stderr, "walferry-fetch: warning: %s\n", message.c_str());
}

void Prefetcher::report_damage_notes() {
    for (const DamageNote& note : spool_.take_damage_notes()) {
        std::fprintf(stderr, "walferry-fetch: warning: %s\n", damage_note_warning(note).c_str());
    }
}

bool Prefetcher::serve(const WalName& name, const std::string& target_path,
                       std::uint64_t& seg_size) {
    report_damage_notes();
    std::vector<WalName> entries = spool_.entries();
    if (entries.empty()) return false;
    for (const WalName& e : stale_entries(entries, name)) spool_.remove(e);
    if (std::find(entries.begin(), entries.end(), name) == entries.end()) return false;
    try {
        bool served = spool_.serve(name, target_path, &seg_size) == RestoreOutcome::kRestored;
        spool_.remove(name);
        return served;
    } catch (const Error& e) {
        spool_.remove(name);
        std::string dropped = "removed";
        if (e.code() == ErrorCode::kForeignCluster) {
            // Filled for the cluster that was here before: none of it is this one's.
            for (const WalName& other : spool_.entries()) spool_.remove(other);
            dropped = "every entry removed";
        }
        // Said even without -v: a damaged local copy is worth knowing about.
        std::fprintf(stderr, "walferry-fetch: warning: %s; %s, fetching from the sources\n",
                     e.what(), dropped.c_str());
        return false;
    }
}

void Prefetcher::after_served(const WalName& name, std::uint64_t seg_size) {
    if (name.kind != WalKind::kSegment) return;
    std::vector<WalName> window = prefetch_window(name, seg_size, depth_);
    if (!worker_wanted(window, spool_.entries())) return;
    try {
        UniqueFd lock = spool_.try_lock();
        if (!lock) {
            warn("a prefetch worker is running for " + spool_.dir());
            return;
        }
        spawn_worker(spool_, sources_, opener_, window, std::move(lock));
    } catch (const Error& e) {
        warn(std::string(e.what()) + "; no prefetch");
    }
}

namespace {

// The worker's sources: one store, so one SSH session, per source for the whole window; a
// source that failed is not asked again by this worker.
class WorkerSources {
  public:
    WorkerSources(const std::vector<Destination>& sources, const StoreOpener& opener)
        : sources_(sources), opener_(opener), stores_(sources.size()), failed_(sources.size()) {}

    // Segment `name` into `spool` from the first source with a good copy; false if none has one.
    bool fetch(PrefetchSpool& spool, const WalName& name) {
        for (std::size_t i = 0; i < sources_.size(); ++i) {
            if (!failed_[i] && fetch_from(spool, i, name)) return true;
        }
        return false;
    }

  private:
    bool fetch_from(PrefetchSpool& spool, std::size_t i, const WalName& name) {
        try {
            if (!stores_[i]) stores_[i] = opener_(sources_[i]);
            return spool.store_from(*stores_[i], name) == RestoreOutcome::kRestored;
        } catch (const Error& e) {
            if (!is_damage(e.code())) {
                // Unreachable, a missing archive directory or walferry.info: not asked again,
                // and never taken for "not archived yet".
                failed_[i] = true;
                stores_[i].reset();
                return false;
            }
            // Nobody reads this process's stderr: the next call says it.
            spool.note_damage(
                {sources_[i].location.url(), name.archive_file_name(), e.code(), e.what()}, i);
            // An archive of another cluster has nothing for this one.
            if (e.code() == ErrorCode::kForeignCluster) failed_[i] = true;
            return false;
        }
    }

    const std::vector<Destination>& sources_;
    const StoreOpener& opener_;
    std::vector<std::unique_ptr<Store>> stores_;
    std::vector<bool> failed_;
};

}  // namespace

void fill_spool(PrefetchSpool& spool, const std::vector<Destination>& sources,
                const std::vector<WalName>& window, const StoreOpener& opener) {
    spool.remove_leftovers();
    std::vector<WalName> present = spool.entries();
    for (const WalName& e : names_not_in(present, window)) spool.remove(e);
    WorkerSources from(sources, opener);
    for (const WalName& name : names_not_in(window, present)) {
        // Not archived yet, or no good copy: the calls will ask the sources.
        if (!from.fetch(spool, name)) return;
    }
}

}  // namespace walferry
