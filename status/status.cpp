#include "status/status.h"

#include <ctime>
#include <iostream>

#include "archive/consumer_registry.h"
#include "archive/container.h"
#include "base/error.h"
#include "status/render.h"
#include "status/server_check.h"
#include "status/spool_view.h"
#include "status/verify.h"

namespace walferry {

namespace {

constexpr std::uint64_t kDefaultSegSize = std::uint64_t{16} << 20;

// A stored .history, decompressed and checked against its SHA-256 (a few hundred bytes).
std::string read_small(Store& store, const std::string& stored_name) {
    std::string text;
    ContainerReader reader([&](std::span<const std::uint8_t> bytes) {
        if (text.size() + bytes.size() > kMaxSmallWalFileSize) {
            throw Error(ErrorCode::kInvalidContainer, "\"" + stored_name + "\" is too large");
        }
        text.append(bytes.begin(), bytes.end());
    });
    if (!store.get(stored_name, [&](std::span<const std::uint8_t> b) { reader.feed(b); })) {
        throw Error(ErrorCode::kNotFound, "\"" + stored_name + "\" vanished while listing");
    }
    reader.finish();
    return text;
}

// The destination's cleanup consumers, read without the cleanup lock and creating nothing
// (walferry-status never writes into an archive). A backend that cannot hold them has none.
void read_consumers(Store& store, DestinationReport& report) {
    try {
        const ConsumerRegistry registry(store, ConsumerAccess::kRead, 0);
        for (ConsumerRecord& r : registry.load()) {
            report.consumers.push_back(
                ConsumerReport{std::move(r.name), r.cutoff.wal_file_name(), r.updated});
        }
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnsupported) report.consumers_error = e.what();
    }
}

struct Listed {
    DestinationReport report;
    std::vector<ListedFile> files;
};

Listed list_destination(const Destination& d, const StoreOpener& open, HistoryMap& histories) {
    Listed out;
    out.report.name = d.name;
    out.report.url = d.location.url();
    try {
        std::unique_ptr<Store> store = open(d);
        out.files = store->list_files();
        out.report.info = read_archive_info(*store);
        for (const ListedFile& f : out.files) {
            WalName name;
            if (!try_parse_wal_name(f.name, name) || name.kind != WalKind::kHistory) continue;
            if (histories.count(name.tli)) continue;
            try {
                histories.emplace(name.tli,
                                  TimelineHistory::parse(name.tli, read_small(*store, f.name)));
            } catch (const Error& e) {
                if (e.code() == ErrorCode::kUnavailable) throw;
                out.report.history_errors.push_back("\"" + f.name + "\": " + e.what());
            }
        }
        read_consumers(*store, out.report);
    } catch (const Error& e) {
        out.report.unreachable = e.what();
        out.files.clear();
    }
    return out;
}

}  // namespace

StatusReport collect_status(const std::vector<Destination>& destinations, const StoreOpener& open,
                            std::int64_t now) {
    StatusReport report;
    report.now = now;
    HistoryMap histories;
    std::vector<Listed> listed;
    for (const Destination& d : destinations)
        listed.push_back(list_destination(d, open, histories));
    report.seg_size = kDefaultSegSize;
    for (const Listed& l : listed) {
        if (l.report.info) {
            report.seg_size = l.report.info->seg_size;
            break;
        }
    }
    std::set<std::uint32_t> timelines;
    std::vector<std::vector<ListedFile>> reachable;
    for (Listed& l : listed) {
        l.report.contents = analyze_archive(l.files, histories, report.seg_size);
        for (const auto& [tli, t] : l.report.contents.timelines) timelines.insert(tli);
        if (!l.report.unreachable) reachable.push_back(l.files);
    }
    const auto missing = missing_elsewhere(reachable, report.seg_size);
    std::size_t r = 0;
    for (Listed& l : listed) {
        if (!l.report.unreachable) l.report.missing = missing[r++];
        report.destinations.push_back(std::move(l.report));
    }
    report.tree = timeline_tree(histories, timelines);
    return report;
}

int run_status(const StatusOptions& options, const StoreOpener& open) {
    const std::string cwd = current_directory();
    const Config config = load_config(options.config_path, cwd);
    const std::vector<Destination> destinations =
        options.destinations.empty()
            ? config.destinations
            : destinations_from(options.destinations, config, cwd, "destination");
    if (destinations.empty()) {
        throw Error(ErrorCode::kUsage, "no destination: give one or configure [[destination]]");
    }
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    StatusReport report = collect_status(destinations, open, now);
    report.thresholds.warn_lag = options.warn_lag.value_or(config.status.warn_lag);
    report.thresholds.crit_lag = options.crit_lag.value_or(config.status.crit_lag);
    report.thresholds.stale_consumer_seconds = options.stale_consumer_seconds.value_or(
        config.status.stale_consumer_seconds.value_or(config.cleanup.consumer_ttl_seconds));
    if (!config.origin.empty()) report.spool = read_spool(config.spool, destinations, now);
    if (options.verify) verify_destinations(report, destinations, open, options.jobs);
    if (options.check) {
        CheckOptions check;
        check.switch_wal = options.switch_wal;
        check.timeout_seconds =
            options.switch_timeout_seconds.value_or(config.status.switch_timeout_seconds);
        report.servers = check_servers(config.servers, report, destinations, open, check);
    }
    assess(report);
    switch (options.format) {
        case StatusFormat::kText:
            render_text(report, std::cout);
            break;
        case StatusFormat::kJson:
            render_json(report, std::cout);
            break;
        case StatusFormat::kPrometheus:
            render_prometheus(report, std::cout);
            break;
    }
    return static_cast<int>(report.level());
}

}  // namespace walferry
