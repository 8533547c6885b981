// Turns a configured destination or source into the Store that serves it.
#pragma once

#include <memory>

#include "cli/config.h"
#include "store/store.h"

namespace walferry {

// file:// -> FileStore, sftp:// -> SftpStore (which connects on first use).
std::unique_ptr<Store> open_store(const Destination& destination);

// Destinations from positional arguments, or from the config when there are none.
// Error(kUsage) if both are empty.
std::vector<Destination> destinations_from(const std::vector<std::string>& positional,
                                           const Config& config, std::string_view cwd,
                                           std::string_view what);

}  // namespace walferry
