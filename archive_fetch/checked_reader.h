// Decoding one stored file as it streams in, and every check fetch makes before it trusts it:
// the container's size and SHA-256, the original name, and for segments the WAL page header.
// Used for copies from a source and for copies in the prefetch spool alike.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "container.h"
#include "error.h"
#include "wal_name.h"
#include "wal_page_header.h"

namespace walferry {

// The codes of a damaged copy (the two CheckedReader raises), as opposed to a failure to read one.
bool is_damage(ErrorCode code) noexcept;

// The most a .history or .backup file may decompress to. A history file holds one short line
// per ancestor timeline (4 MiB is some 50,000 timelines) and a backup history file a dozen lines;
// anything larger is damage or a decompression bomb. Segments are bounded by the wal_segment_size
// of their own page header (at most 1 GiB), read from the first 40 bytes.
inline constexpr std::uint64_t kMaxTextWalFileSize = 4u << 20;

class CheckedReader {
  public:
    // `out` gets the decompressed bytes; `where` names the copy in messages (Store::describe()).
    CheckedReader(const WalName& name, std::string where, ContainerReader::Sink out);

    // Stored bytes, in order. Damage -> Error(kInvalidContainer / kChecksumMismatch) naming the
    // copy.
    void feed(std::span<const std::uint8_t> stored);

    // After the last byte: every check. Returns the metadata (raw_size is wal_segment_size for a
    // segment). Any failure -> Error(kInvalidContainer / kChecksumMismatch) naming the copy.
    ContainerMeta finish();

  private:
    void take(std::span<const std::uint8_t> bytes);
    [[noreturn]] void damaged(ErrorCode code, const std::string& why) const;
    void check_pages(const ContainerMeta& meta) const;

    WalName name_;
    std::string stored_name_;
    std::string where_;
    ContainerReader::Sink out_;
    std::vector<std::uint8_t> head_;       // the first page header, checked once all is verified
    std::optional<WalPageHeader> header_;  // parsed from head_ as soon as it is complete
    std::uint64_t written_ = 0;            // decompressed bytes handed to out_
    std::uint64_t limit_;                  // the most out_ may get: see take()
    // Made at the first byte: its SHA-256 context initialises OpenSSL, a millisecond or two that
    // a not-found answer need not pay.
    std::optional<ContainerReader> reader_;
};

}  // namespace walferry
