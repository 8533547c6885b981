// Turns a configured destination or source into the Store that serves it.
#pragma once

#include <functional>
#include <memory>

#include "cli/config.h"
#include "store/store.h"

namespace walferry {

// file:// -> FileStore; sftp:// -> SftpStore, s3:// -> S3Store (which connect on first use),
// through open_remote_store (remote_store.h: their modules are loaded then).
std::unique_ptr<Store> open_store(const Destination& destination);

// How the commands get a store for a destination or source: open_store in the binaries, an
// in-memory store in the unit tests of their orchestration. Called from several threads at once
// (walferry-push opens one store per destination thread), and again for each new session.
using StoreOpener = std::function<std::unique_ptr<Store>(const Destination&)>;

// Destinations from positional arguments, or from the config when there are none.
// Error(kUsage) if both are empty.
std::vector<Destination> destinations_from(const std::vector<std::string>& positional,
                                           const Config& config, std::string_view cwd,
                                           std::string_view what);

}  // namespace walferry
