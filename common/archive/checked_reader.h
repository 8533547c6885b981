// Decoding one stored file as it streams in, and every check fetch makes before it trusts it:
// the container's size and SHA-256, the original name, and for segments the WAL page header.
// Used for copies from a source and for copies in the prefetch spool alike.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "archive/container.h"
#include "base/error.h"
#include "wal/wal_name.h"
#include "wal/wal_page_header.h"

namespace walferry {

// The codes of a damaged copy (those CheckedReader raises; a segment of another cluster is one
// too), as opposed to a failure to read one.
bool is_damage(ErrorCode code) noexcept;

// What a stored copy may decompress to is bounded by what the file can be, never by its
// metadata frame (which is not authenticated): a segment by the wal_segment_size of its own page
// header (at most 1 GiB), read from the first 40 bytes; a .history or .backup by
// kMaxSmallWalFileSize (timeline_history.h), the most push accepts. Anything larger is damage or
// a decompression bomb, refused before it fills the disk next to %p.

// Error(kForeignCluster) naming `file` in `where` unless `segment_sysid` is `server`'s (the
// recovering server's: archive_fetch/cluster_guard.h).
void check_server_cluster(std::uint64_t segment_sysid, std::uint64_t server,
                          const std::string& file, const std::string& where);

class CheckedReader {
  public:
    // `out` gets the decompressed bytes; `where` names the copy in messages (Store::describe()).
    // With `server_sysid`, a segment of another cluster is refused (check_server_cluster).
    CheckedReader(const WalName& name, std::string where, ContainerReader::Sink out,
                  std::optional<std::uint64_t> server_sysid = std::nullopt);

    // Stored bytes, in order. Damage -> Error(kInvalidContainer / kChecksumMismatch) naming the
    // copy.
    void feed(std::span<const std::uint8_t> stored);

    // After the last byte: every check. Returns the metadata (raw_size is wal_segment_size for a
    // segment). Any failure -> Error(kInvalidContainer / kChecksumMismatch / kForeignCluster)
    // naming the copy.
    ContainerMeta finish();

  private:
    [[noreturn]] void damaged(ErrorCode code, const std::string& why) const;
    void take(std::span<const std::uint8_t> bytes);
    void check_pages(const ContainerMeta& meta) const;

    WalName name_;
    std::string stored_name_;
    std::string where_;
    ContainerReader::Sink out_;
    std::optional<std::uint64_t> server_sysid_;
    std::vector<std::uint8_t> head_;       // the first page header, checked once all is verified
    std::optional<WalPageHeader> header_;  // parsed from head_ as soon as it is complete
    std::string small_;                    // a .history or .backup, whole (within limit_)
    std::uint64_t written_ = 0;            // decompressed bytes handed to out_
    std::uint64_t limit_;                  // the most out_ may get: see take()
    // Made at the first byte: its SHA-256 context initialises OpenSSL, a millisecond or two that
    // a not-found answer need not pay.
    std::optional<ContainerReader> reader_;
};

}  // namespace walferry
