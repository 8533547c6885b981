// The archive container: what "<name>.zst" holds in every destination.
//
//   [skippable frame: magic 0x184D2A5E, u32 LE length, metadata text][zstd frame(s)]
//
// The metadata comes first so that stat() needs one small read (kMetaReadSize) and no
// decompression; a skippable frame is ignored by every zstd decoder, so `zstd -d` on the stored
// file gives back the original bytes exactly. The zstd frame carries its own content checksum.
// Metadata text is "key=value\n" lines, starting with "walferry-container=1".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "archive/sha256.h"

namespace walferry {

inline constexpr int kContainerFormatVersion = 1;
inline constexpr std::uint32_t kMetaFrameMagic = 0x184D2A5E;
// Enough to hold any metadata frame; stat() reads this many bytes at most.
inline constexpr std::size_t kMetaReadSize = 1024;

struct ContainerMeta {
    int format_version = kContainerFormatVersion;
    std::string name;  // WAL file name as PostgreSQL knows it (no ".zst")
    std::uint64_t raw_size = 0;
    Sha256Digest sha256{};
    // Only for files with WAL pages (segments, .partial); 0 otherwise.
    std::uint64_t sysid = 0;
    std::uint32_t tli = 0;
    int pg_major = 0;
    // With pg_major 0 only: the page magic of a PostgreSQL newer than the pushing walferry knew
    // (wal_page_header.h, is_unverified_wal_magic), stored as "wal_magic=0xD125".
    std::uint16_t wal_magic = 0;
    friend bool operator==(const ContainerMeta&, const ContainerMeta&) = default;
};

// Serialises `meta` as a complete skippable frame (header included).
std::vector<std::uint8_t> encode_meta_frame(const ContainerMeta& meta);

// Parses the skippable frame at the start of `head` (which may hold more bytes after it).
// Sets `frame_size` to the frame's total length. Throws Error(kInvalidContainer) saying why
// (wrong magic, truncated, unknown format version, missing or malformed key).
ContainerMeta decode_meta_frame(std::span<const std::uint8_t> head, std::size_t& frame_size);

struct CompressOptions {
    int level = 1;  // zstd level
    // zstd worker threads. 0 (auto): none for inputs up to kAutoWorkersAbove — zstd on the calling
    // thread and SHA-256 on a second one is faster for a 16 MiB segment than zstd's workers,
    // whose buffers cost more page faults than they save — and one per core above that.
    int threads = 0;
    std::uint64_t size_hint = 0;  // expected raw size, 0 if unknown: output is reserved from it
};
inline constexpr std::uint64_t kAutoWorkersAbove = 64ull << 20;

// The result of reading and compressing one WAL file once, ready to be sent to every
// destination: meta_frame followed by payload is the stored file.
struct CompressedFile {
    ContainerMeta meta;
    std::vector<std::uint8_t> meta_frame;
    std::vector<std::uint8_t> payload;  // zstd frame(s)
    std::uint64_t stored_size() const { return meta_frame.size() + payload.size(); }
};

// Streaming compressor (RAII ZSTD_CCtx): feed the raw file in chunks, then finish().
// The SHA-256 and size of the raw bytes are computed on the way.
class ContainerWriter {
  public:
    explicit ContainerWriter(const CompressOptions& options);
    ~ContainerWriter();
    ContainerWriter(const ContainerWriter&) = delete;
    ContainerWriter& operator=(const ContainerWriter&) = delete;

    void feed(std::span<const std::uint8_t> raw);
    // `meta` supplies name and the segment fields; raw_size and sha256 are filled in here.
    CompressedFile finish(ContainerMeta meta);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Streaming decoder (RAII ZSTD_DCtx): feed the stored bytes in chunks as they arrive; the
// decompressed bytes go to `out`. finish() checks the zstd frame ended, that the decompressed size
// and SHA-256 match the metadata, and returns the metadata. Any damage ->
// Error(kChecksumMismatch) or Error(kInvalidContainer), naming expected and actual values.
class ContainerReader {
  public:
    using Sink = std::function<void(std::span<const std::uint8_t>)>;
    explicit ContainerReader(Sink out);
    ~ContainerReader();
    ContainerReader(const ContainerReader&) = delete;
    ContainerReader& operator=(const ContainerReader&) = delete;

    void feed(std::span<const std::uint8_t> stored);
    ContainerMeta finish();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace walferry
