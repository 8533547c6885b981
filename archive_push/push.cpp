#include "push.h"

#include <cstdio>

#include "config.h"
#include "error.h"
#include "open_store.h"
#include "publish.h"
#include "tool_main.h"
#include "wal_file.h"

namespace walferry {

namespace {

constexpr std::string_view kTool = "walferry-push";

}  // namespace

int run_push(const PushOptions& options) {
    const std::string cwd = current_directory();
    Config config = load_config(options.config_path, cwd);
    std::vector<Destination> destinations =
        destinations_from(options.destinations, config, cwd, "destination");

    CompressOptions compress{options.level.value_or(config.compress_level), config.threads};
    PreparedWal wal = prepare_wal_file(options.wal_path, compress);

    // required = "all": every destination must hold the file. Each is tried even after one
    // fails, so that a retry by PostgreSQL only has the failed ones left to do.
    std::optional<Error> first_failure;
    for (const Destination& destination : destinations) {
        try {
            auto store = open_store(destination);
            PublishOutcome outcome = publish(*store, wal);
            if (options.verbose) {
                std::fprintf(stderr, "%s: %s %s in %s (%llu bytes, stored %llu)\n", kTool.data(),
                             outcome == PublishOutcome::kStored ? "stored" : "already had",
                             wal.name.wal_file_name().c_str(), store->describe().c_str(),
                             static_cast<unsigned long long>(wal.file.meta.raw_size),
                             static_cast<unsigned long long>(wal.file.stored_size()));
            }
        } catch (const Error& e) {
            if (first_failure) print_error(kTool, e.what());
            else first_failure = e;
        }
    }
    if (first_failure) throw *first_failure;
    return 0;
}

}  // namespace walferry
