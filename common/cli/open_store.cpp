#include "cli/open_store.h"

#include "base/error.h"
#include "cli/remote_store.h"
#include "store/file_store.h"

namespace walferry {

std::unique_ptr<Store> open_store(const Destination& destination) {
    const Location& loc = destination.location;
    if (loc.scheme == Location::Scheme::kFile) return std::make_unique<FileStore>(loc.path);
    return open_remote_store(destination);
}

std::vector<Destination> destinations_from(const std::vector<std::string>& positional,
                                           const Config& config, std::string_view cwd,
                                           std::string_view what) {
    std::vector<Destination> out;
    for (const auto& text : positional) {
        Destination d;
        d.location = parse_location(text, cwd);
        d.name = d.location.url();
        out.push_back(std::move(d));
    }
    if (out.empty()) out = active_destinations(config);
    if (out.empty()) {
        std::string where = config.origin.empty() ? std::string(kDefaultConfigPath) : config.origin;
        throw Error(ErrorCode::kUsage, "no " + std::string(what) +
                                           " given on the command line or in \"" + where + "\"");
    }
    return out;
}

}  // namespace walferry
