// The archive container: what "<name>.zst" holds in every destination.
//
//   [skippable frame: magic 0x184D2A5E, u32 LE length, metadata text][zstd frame]...
//
// The metadata comes first so that stat() needs one small read (kMetaReadSize) and no
// decompression; a skippable frame is ignored by every zstd decoder, so `zstd -d` on the stored
// file gives back the original bytes exactly. A large file is several independent zstd frames
// (compressed on several cores), which every zstd decoder reads as one stream; each frame
// carries its own content size and checksum.
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
    // Threads that compress one large feed (ContainerWriter::feed of 4 MiB or more), each taking
    // the next 2 MiB frame as it is done, the calling thread after it has hashed the feed.
    // 0 (auto): one per core. 1: all on the calling thread. At most kMaxCompressThreads.
    int threads = 0;
    std::uint64_t size_hint = 0;  // expected raw size, 0 if unknown: output is reserved from it
};
inline constexpr int kMaxCompressThreads = 16;

// The result of reading and compressing one WAL file once, ready to be sent to every
// destination: meta_frame followed by payload is the stored file.
struct CompressedFile {
    ContainerMeta meta;
    std::vector<std::uint8_t> meta_frame;
    std::vector<std::uint8_t> payload;  // zstd frame(s)
    std::uint64_t stored_size() const { return meta_frame.size() + payload.size(); }
};

// Compressor (RAII ZSTD_CCtx): feed the raw file, then finish(). Small feeds stream into one
// frame; a feed of 4 MiB or more (a whole segment, read at once) is cut into 2 MiB frames
// compressed by CompressOptions::threads threads while the calling thread hashes it, so feed it
// whole rather than in chunks. The SHA-256 and size of the raw bytes are computed on the way.
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
// decompressed bytes go to `out`, frame after frame. finish() checks the last zstd frame ended,
// that the decompressed size and SHA-256 match the metadata, and returns the metadata. Any damage
// -> Error(kChecksumMismatch) or Error(kInvalidContainer), naming expected and actual values.
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
