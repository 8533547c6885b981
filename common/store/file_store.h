// The file:// backend: an archive in a local (or locally mounted) directory.
#pragma once

#include <functional>
#include <string>

#include "base/unique_fd.h"
#include "store/store.h"

namespace walferry {

class FileStore final : public Store {
  public:
    // `dir` must be an absolute path to an existing directory; checked on first use, and a
    // missing directory is an error (Error(kIo)), never silently created.
    explicit FileStore(std::string dir);

    std::string describe() const override;
    bool put(std::string_view name, ByteParts parts) override;
    void sync(std::string_view name) override;
    std::optional<ObjectStat> stat(std::string_view name, std::size_t head_bytes) override;
    bool get(std::string_view name, const ByteSink& sink) override;
    std::vector<std::string> list() override;
    std::vector<ListedFile> list_files() override;
    std::unique_ptr<ConsumerStore> consumers(ConsumerAccess access, int lock_wait_s) override;
    bool remove(std::string_view name) override;

    const std::string& dir() const noexcept { return dir_; }

    // Called with the path of every file or directory this store fsyncs, before the fsync: lets
    // a test see what a call made durable.
    std::function<void(const std::string& path)> on_fsync;

  private:
    void fsync_or_throw(int fd, const std::string& path, const char* what) const;

    std::string dir_;
    UniqueFd remove_dirfd_;  // opened by the first remove()
    bool swept_ = false;     // the temp directory's stale files, once per store
};

// Prefix of temporary files written by put(): ".walferry-tmp.<name>.<random>".
inline constexpr std::string_view kTempPrefix = ".walferry-tmp.";
// Where put() writes them, on every backend: a directory of the archive, made by the first put,
// then linked (renamed) into the archive. Kept apart so that the sweep for a dead writer's
// temps lists only temps, never the archive's segments (a push costs the same at 1 or 1,000,000
// stored files). Hidden, so list() and cleanup never see it.
inline constexpr std::string_view kTempDir = ".walferry-incoming";

}  // namespace walferry
