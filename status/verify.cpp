#include "status/verify.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include "archive/archive_info.h"
#include "archive/checked_reader.h"
#include "base/error.h"

namespace walferry {

namespace {

struct Job {
    std::size_t destination = 0;
    std::string file;
    std::uint64_t size = 0;
};

class Progress {
  public:
    Progress(std::uint64_t total_bytes, bool shown) : total_(total_bytes), shown_(shown) {}
    ~Progress() {
        if (shown_ && drawn_) std::fputs("\n", stderr);
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void add(std::uint64_t bytes) {
        const std::uint64_t done = done_ += bytes;
        if (!shown_) return;
        std::lock_guard lock(mutex_);
        const int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
        if (percent == last_) return;
        last_ = percent;
        drawn_ = true;
        const int width = 40;
        std::string bar(static_cast<std::size_t>(percent * width / 100), '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\rverifying [%s] %3d%%", bar.c_str(), percent);
        std::fflush(stderr);
    }

  private:
    std::uint64_t total_;
    bool shown_;
    std::atomic<std::uint64_t> done_{0};
    std::mutex mutex_;
    int last_ = -1;
    bool drawn_ = false;
};

// One stored file read whole through every check; the damage message, or nullopt when sound.
std::optional<std::string> check_file(Store& store, const WalName& name, const std::string& file,
                                      const std::optional<ArchiveInfo>& info) {
    try {
        CheckedReader reader(name, store.describe(), [](std::span<const std::uint8_t>) {});
        if (!store.get(file, [&](std::span<const std::uint8_t> b) { reader.feed(b); })) {
            return "\"" + file + "\" in " + store.describe() + " vanished while verifying";
        }
        const ContainerMeta meta = reader.finish();
        if (name.has_wal_pages() && info && meta.sysid != info->sysid) {
            return "\"" + file + "\" in " + store.describe() +
                   " belongs to another cluster: system identifier " + std::to_string(meta.sysid) +
                   ", walferry.info records " + std::to_string(info->sysid);
        }
        return std::nullopt;
    } catch (const Error& e) {
        return std::string(e.what());
    }
}

}  // namespace

void verify_destinations(StatusReport& report, const std::vector<Destination>& destinations,
                         const StoreOpener& open, int jobs) {
    std::vector<Job> work;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < report.destinations.size(); ++i) {
        DestinationReport& d = report.destinations[i];
        if (d.unreachable) continue;
        d.verify.emplace();
        for (const ListedFile& f : d.contents.wal_files) {
            work.push_back(Job{i, f.name, f.size});
            total += f.size;
        }
    }
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t workers =
        std::min<std::size_t>(jobs > 0 ? static_cast<std::size_t>(jobs) : cores, work.size());
    Progress progress(total, ::isatty(STDERR_FILENO) == 1);
    std::atomic<std::size_t> next{0};
    std::mutex results;
    auto worker = [&] {
        std::vector<std::unique_ptr<Store>> stores(report.destinations.size());
        for (std::size_t j; (j = next++) < work.size();) {
            const Job& job = work[j];
            DestinationReport& d = report.destinations[job.destination];
            std::optional<std::string> damage;
            WalName name;
            try {
                auto& store = stores[job.destination];
                if (!store) store = open(destinations[job.destination]);
                name = parse_wal_name(job.file);
                damage = check_file(*store, name, job.file, d.info);
            } catch (const Error& e) {
                damage = std::string(e.what());
            }
            std::lock_guard lock(results);
            ++d.verify->files;
            if (damage) d.verify->damaged.push_back(DamagedFile{job.file, *damage});
            progress.add(job.size);
        }
    };
    std::vector<std::thread> threads;
    for (std::size_t w = 1; w < workers; ++w) threads.emplace_back(worker);
    worker();
    for (std::thread& t : threads) t.join();
    for (DestinationReport& d : report.destinations) {
        if (!d.verify) continue;
        for (const ListedFile& f : d.contents.wal_files) d.verify->stored_bytes += f.size;
        std::sort(d.verify->damaged.begin(), d.verify->damaged.end(),
                  [](const DamagedFile& a, const DamagedFile& b) { return a.file < b.file; });
    }
}

}  // namespace walferry
