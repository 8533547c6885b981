#include "archive/container.h"

#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <string_view>
#include <thread>

#include "base/error.h"
#include "base/escape.h"
#include "wal/wal_page_header.h"

namespace walferry {

namespace {

constexpr std::size_t kFrameHeaderSize = 8;  // magic + length, both u32 little-endian
constexpr std::string_view kVersionKey = "walferry-container";

[[noreturn]] void invalid(const std::string& why) {
    throw Error(ErrorCode::kInvalidContainer, why);
}

std::uint32_t load_le32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

void store_le32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int shift = 0; shift < 32; shift += 8)
        out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Stored metadata may be damaged or hostile: show it escaped and bounded.
std::string printable(std::string_view raw) {
    return escape_bytes(raw, 80);
}

// Checks magic and length of the frame starting `head` (at least kFrameHeaderSize bytes) and
// returns its total size, which never exceeds kMetaReadSize.
std::size_t meta_frame_size(std::span<const std::uint8_t> head) {
    std::uint32_t magic = load_le32(head.data());
    if (magic == ZSTD_MAGICNUMBER) {
        invalid("not a walferry container: a plain zstd stream without the metadata frame");
    }
    if (magic != kMetaFrameMagic) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%08X", magic);
        invalid(std::string("not a walferry container: starts with ") + buf +
                " instead of the metadata frame magic 0x184D2A5E");
    }
    std::uint64_t total = kFrameHeaderSize + std::uint64_t{load_le32(head.data() + 4)};
    if (total > kMetaReadSize) {
        invalid("metadata frame of " + std::to_string(total) + " bytes exceeds the limit of " +
                std::to_string(kMetaReadSize));
    }
    return static_cast<std::size_t>(total);
}

template <typename T>
T parse_number(std::string_view key, std::string_view value) {
    T out{};
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
        invalid("metadata key " + std::string(key) + " has a malformed value \"" +
                printable(value) + "\"");
    }
    return out;
}

// "0xD125": a WAL page magic, never 0.
std::uint16_t parse_magic(std::string_view value) {
    std::uint16_t out = 0;
    std::string_view digits = value.substr(std::min<std::size_t>(2, value.size()));
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out, 16);
    if (!value.starts_with("0x") || digits.empty() || ec != std::errc() ||
        end != digits.data() + digits.size() || out == 0) {
        invalid("metadata key wal_magic has a malformed value \"" + printable(value) + "\"");
    }
    return out;
}

ContainerMeta parse_meta_text(std::string_view text) {
    std::map<std::string_view, std::string_view> fields;
    bool first = true;
    while (!text.empty()) {
        std::size_t eol = text.find('\n');
        if (eol == std::string_view::npos) invalid("metadata text does not end with a newline");
        std::string_view line = text.substr(0, eol);
        text.remove_prefix(eol + 1);
        std::size_t eq = line.find('=');
        if (eq == std::string_view::npos) {
            invalid("malformed metadata line \"" + printable(line) + "\" (no '=')");
        }
        std::string_view key = line.substr(0, eq);
        std::string_view value = line.substr(eq + 1);
        if (first) {
            if (key != kVersionKey) {
                invalid("metadata does not start with \"walferry-container=\" but \"" +
                        printable(line) + "\"");
            }
            if (value != std::to_string(kContainerFormatVersion)) {
                invalid("unknown container format version \"" + printable(value) +
                        "\" (this walferry reads version " +
                        std::to_string(kContainerFormatVersion) + ")");
            }
            first = false;
        }
        if (!fields.emplace(key, value).second) {
            invalid("metadata key \"" + printable(key) + "\" appears twice");
        }
    }
    if (first) invalid("metadata frame is empty");

    auto required = [&](std::string_view key) {
        auto it = fields.find(key);
        if (it == fields.end()) invalid("metadata key " + std::string(key) + " is missing");
        return it->second;
    };
    ContainerMeta meta;
    meta.name = std::string(required("name"));
    if (meta.name.empty()) invalid("metadata key name is empty");
    meta.raw_size = parse_number<std::uint64_t>("raw_size", required("raw_size"));
    try {
        meta.sha256 = digest_from_hex(required("sha256"));
    } catch (const Error& e) {
        invalid(std::string("metadata key sha256: ") + e.what());
    }
    // The segment fields come as a group: a partial group means damage, not an older writer.
    std::size_t segment_keys =
        fields.count("sysid") + fields.count("tli") + fields.count("pg_major");
    if (segment_keys != 0) {
        meta.sysid = parse_number<std::uint64_t>("sysid", required("sysid"));
        meta.tli = parse_number<std::uint32_t>("tli", required("tli"));
        meta.pg_major = parse_number<int>("pg_major", required("pg_major"));
        if (meta.pg_major == 0) meta.wal_magic = parse_magic(required("wal_magic"));
    }
    return meta;
}

[[noreturn]] void zstd_failure(std::size_t code, const char* what) {
    if (ZSTD_getErrorCode(code) == ZSTD_error_checksum_wrong) {
        throw Error(ErrorCode::kChecksumMismatch,
                    "zstd content checksum does not match: the compressed data is damaged");
    }
    invalid(std::string(what) + ": " + ZSTD_getErrorName(code));
}

struct CCtxDeleter {
    void operator()(ZSTD_CCtx* c) const noexcept { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
    void operator()(ZSTD_DCtx* d) const noexcept { ZSTD_freeDCtx(d); }
};

}  // namespace

std::vector<std::uint8_t> encode_meta_frame(const ContainerMeta& meta) {
    if (meta.name.empty() ||
        meta.name.find_first_of(std::string_view("\n\0", 2)) != std::string::npos) {
        throw Error(ErrorCode::kInternal,
                    "container name \"" + printable(meta.name) + "\" cannot be stored in metadata");
    }
    std::string text = std::string(kVersionKey) + "=" + std::to_string(meta.format_version) + "\n";
    text += "name=" + meta.name + "\n";
    text += "raw_size=" + std::to_string(meta.raw_size) + "\n";
    text += "sha256=" + to_hex(meta.sha256) + "\n";
    if (meta.sysid != 0 || meta.tli != 0 || meta.pg_major != 0) {
        text += "sysid=" + std::to_string(meta.sysid) + "\n";
        text += "tli=" + std::to_string(meta.tli) + "\n";
        text += "pg_major=" + std::to_string(meta.pg_major) + "\n";
        if (meta.pg_major == 0) text += "wal_magic=" + format_wal_magic(meta.wal_magic) + "\n";
    }
    if (kFrameHeaderSize + text.size() > kMetaReadSize) {
        throw Error(ErrorCode::kInternal, "metadata for \"" + printable(meta.name) +
                                              "\" does not fit in " +
                                              std::to_string(kMetaReadSize) + " bytes");
    }
    std::vector<std::uint8_t> frame;
    frame.reserve(kFrameHeaderSize + text.size());
    store_le32(frame, kMetaFrameMagic);
    store_le32(frame, static_cast<std::uint32_t>(text.size()));
    frame.insert(frame.end(), text.begin(), text.end());
    return frame;
}

ContainerMeta decode_meta_frame(std::span<const std::uint8_t> head, std::size_t& frame_size) {
    if (head.size() < kFrameHeaderSize) {
        invalid("truncated container: " + std::to_string(head.size()) +
                " bytes, the metadata frame header needs 8");
    }
    std::size_t total = meta_frame_size(head);
    if (head.size() < total) {
        invalid("truncated metadata frame: " + std::to_string(head.size()) + " of " +
                std::to_string(total) + " bytes");
    }
    auto text = head.subspan(kFrameHeaderSize, total - kFrameHeaderSize);
    ContainerMeta meta = parse_meta_text({reinterpret_cast<const char*>(text.data()), text.size()});
    frame_size = total;
    return meta;
}

// ---------------------------------------------------------------------------------------------

struct ContainerWriter::Impl {
    int threads = 1;  // resolved: how many threads compress a large feed
    std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx{ZSTD_createCCtx()};
    std::vector<std::unique_ptr<ZSTD_CCtx, CCtxDeleter>> helper_cctx;  // one per extra thread
    Sha256 hash;
    std::uint64_t raw_size = 0;
    std::vector<std::uint8_t> payload;
    std::vector<std::uint8_t> out_buf;           // the streaming path's, made at its first use
    std::unique_ptr<std::uint8_t[]> frames_buf;  // uninitialised: only what zstd writes is touched
    std::size_t frames_buf_size = 0;
    bool stream_open = false;
    std::size_t frames = 0;  // complete frames in payload
    bool finished = false;

    // Returns what ZSTD_compressStream2 returned last (0 once an ZSTD_e_end flush is complete).
    std::size_t compress(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
        if (out_buf.empty()) out_buf.resize(ZSTD_CStreamOutSize());
        ZSTD_outBuffer out{out_buf.data(), out_buf.size(), 0};
        std::size_t ret = ZSTD_compressStream2(cctx.get(), &out, &in, mode);
        if (ZSTD_isError(ret)) compression_failed(ret);
        payload.insert(payload.end(), out_buf.data(), out_buf.data() + out.pos);
        return ret;
    }

    [[noreturn]] static void compression_failed(std::size_t ret) {
        throw Error(ErrorCode::kInternal,
                    std::string("zstd compression failed: ") + ZSTD_getErrorName(ret));
    }

    void end_stream_frame() {
        ZSTD_inBuffer in{nullptr, 0, 0};
        while (compress(in, ZSTD_e_end) != 0) {
        }
        stream_open = false;
        ++frames;
    }

    void feed_stream(std::span<const std::uint8_t> raw) {
        hash.update(raw);
        stream_open = true;
        ZSTD_inBuffer in{raw.data(), raw.size(), 0};
        while (in.pos < in.size) compress(in, ZSTD_e_continue);
    }

    void feed_frames(std::span<const std::uint8_t> raw);
};

namespace {

// Frames of this much raw WAL each: small enough that two threads share a 16 MiB segment evenly
// (eight frames), large enough that each frame's fresh start costs next to nothing in ratio
// (zstd's window at the fast levels is 512 KiB to 1 MiB).
constexpr std::size_t kFrameRawSize = std::size_t{2} << 20;
// A feed this large is cut into frames compressed on several threads; smaller ones stream.
constexpr std::size_t kFramesFeedMin = 2 * kFrameRawSize;

}  // namespace

// `raw` as independent zstd frames, compressed by `threads` threads that take the next frame as
// they finish one, while this thread first hashes all of `raw` (SHA-256 cannot be split) and
// then compresses too. Each frame goes to its own slot of frames_buf, then the slots are
// appended to payload in order: a plain zstd decoder reads the concatenation as one stream.
void ContainerWriter::Impl::feed_frames(std::span<const std::uint8_t> raw) {
    if (stream_open) end_stream_frame();
    const std::size_t count = (raw.size() + kFrameRawSize - 1) / kFrameRawSize;
    const std::size_t slot = ZSTD_compressBound(kFrameRawSize);
    if (frames_buf_size < count * slot) {
        frames_buf.reset(new std::uint8_t[count * slot]);
        frames_buf_size = count * slot;
    }
    std::vector<std::size_t> sizes(count, 0);
    std::atomic<std::size_t> next{0};
    auto work = [&](ZSTD_CCtx* c) {
        for (std::size_t i; (i = next.fetch_add(1)) < count;) {
            std::span<const std::uint8_t> part = raw.subspan(
                i * kFrameRawSize, std::min(kFrameRawSize, raw.size() - i * kFrameRawSize));
            sizes[i] =
                ZSTD_compress2(c, frames_buf.get() + i * slot, slot, part.data(), part.size());
            if (ZSTD_isError(sizes[i])) return;
        }
    };
    {
        std::vector<std::jthread> helpers;
        const std::size_t extra = std::min(helper_cctx.size(), count - 1);
        for (std::size_t t = 0; t < extra; ++t) helpers.emplace_back(work, helper_cctx[t].get());
        hash.update(raw);
        work(cctx.get());
    }  // joined
    for (std::size_t i = 0; i < count; ++i) {
        if (ZSTD_isError(sizes[i])) compression_failed(sizes[i]);
        payload.insert(payload.end(), frames_buf.get() + i * slot,
                       frames_buf.get() + i * slot + sizes[i]);
    }
    frames += count;
}

ContainerWriter::ContainerWriter(const CompressOptions& options) : impl_(std::make_unique<Impl>()) {
    if (impl_->cctx == nullptr)
        throw Error(ErrorCode::kInternal, "cannot allocate a zstd compression context");
    if (options.threads < 0) {
        throw Error(ErrorCode::kConfig,
                    "compression threads must be 0 (one per core) or more, not " +
                        std::to_string(options.threads));
    }
    ZSTD_bounds levels = ZSTD_cParam_getBounds(ZSTD_c_compressionLevel);
    if (options.level < levels.lowerBound || options.level > levels.upperBound) {
        throw Error(ErrorCode::kConfig, "zstd compression level " + std::to_string(options.level) +
                                            " is outside " + std::to_string(levels.lowerBound) +
                                            ".." + std::to_string(levels.upperBound));
    }
    int threads = options.threads;
    if (threads == 0) threads = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    impl_->threads = std::min(threads, kMaxCompressThreads);
    if (options.size_hint > 0) {
        // Room for WAL that compresses 4:1; untouched reserved pages cost nothing.
        impl_->payload.reserve(static_cast<std::size_t>(options.size_hint / 4));
    }
    auto setup = [&](ZSTD_CCtx* c) {
        auto set = [&](ZSTD_cParameter p, int v, const char* name) {
            std::size_t ret = ZSTD_CCtx_setParameter(c, p, v);
            if (ZSTD_isError(ret)) {
                throw Error(ErrorCode::kInternal, std::string("zstd parameter ") + name + "=" +
                                                      std::to_string(v) + ": " +
                                                      ZSTD_getErrorName(ret));
            }
        };
        set(ZSTD_c_compressionLevel, options.level, "compressionLevel");
        set(ZSTD_c_checksumFlag, 1, "checksumFlag");
    };
    setup(impl_->cctx.get());
    // Helper contexts only where a feed will be cut into frames: a small file stays on one.
    if (options.size_hint >= kFramesFeedMin) {
        for (int t = 1; t < impl_->threads; ++t) {
            impl_->helper_cctx.emplace_back(ZSTD_createCCtx());
            if (!impl_->helper_cctx.back())
                throw Error(ErrorCode::kInternal, "cannot allocate a zstd compression context");
            setup(impl_->helper_cctx.back().get());
        }
    }
}

ContainerWriter::~ContainerWriter() = default;

void ContainerWriter::feed(std::span<const std::uint8_t> raw) {
    if (impl_->finished) throw Error(ErrorCode::kInternal, "ContainerWriter::feed after finish");
    impl_->raw_size += raw.size();
    if (raw.size() >= kFramesFeedMin) {
        impl_->feed_frames(raw);
    } else {
        impl_->feed_stream(raw);
    }
}

CompressedFile ContainerWriter::finish(ContainerMeta meta) {
    if (impl_->finished) throw Error(ErrorCode::kInternal, "ContainerWriter::finish called twice");
    impl_->finished = true;
    // An empty file is one empty frame, as `zstd` writes it.
    if (impl_->stream_open || impl_->frames == 0) impl_->end_stream_frame();
    meta.format_version = kContainerFormatVersion;
    meta.raw_size = impl_->raw_size;
    meta.sha256 = impl_->hash.finish();
    CompressedFile file;
    file.meta_frame = encode_meta_frame(meta);
    file.meta = std::move(meta);
    file.payload = std::move(impl_->payload);
    return file;
}

// ---------------------------------------------------------------------------------------------

struct ContainerReader::Impl {
    enum class Phase { kMeta, kData, kDone, kFailed };

    Sink out;
    std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx{ZSTD_createDCtx()};
    Phase phase = Phase::kMeta;
    std::vector<std::uint8_t> meta_buf;
    std::size_t meta_size = 0;  // known once the frame header is in
    ContainerMeta meta;
    Sha256 hash;
    std::uint64_t raw_size = 0;
    std::uint64_t stored_size = 0;
    std::size_t frames = 0;  // complete zstd frames so far
    bool in_frame = false;   // within a frame (else between two, or before the first)
    std::vector<std::uint8_t> out_buf = std::vector<std::uint8_t>(ZSTD_DStreamOutSize());

    // Collects the metadata frame; returns the bytes of `stored` that follow it.
    std::span<const std::uint8_t> take_meta(std::span<const std::uint8_t> stored) {
        while (!stored.empty() && phase == Phase::kMeta) {
            std::size_t want = meta_size != 0 ? meta_size : kFrameHeaderSize;
            std::size_t take = std::min(want - meta_buf.size(), stored.size());
            meta_buf.insert(meta_buf.end(), stored.begin(),
                            stored.begin() + static_cast<long>(take));
            stored = stored.subspan(take);
            if (meta_buf.size() < want) break;
            if (meta_size == 0) {
                meta_size = meta_frame_size(meta_buf);
                if (meta_size > kFrameHeaderSize) continue;
            }
            std::size_t frame_size = 0;
            meta = decode_meta_frame(meta_buf, frame_size);
            phase = Phase::kData;
        }
        return stored;
    }

    void decompress(std::span<const std::uint8_t> stored) {
        ZSTD_inBuffer in{stored.data(), stored.size(), 0};
        bool output_full = false;
        while (in.pos < in.size || output_full) {
            ZSTD_outBuffer o{out_buf.data(), out_buf.size(), 0};
            const std::size_t in_before = in.pos;
            std::size_t ret = ZSTD_decompressStream(dctx.get(), &o, &in);
            if (ZSTD_isError(ret)) zstd_failure(ret, "damaged zstd data");
            output_full = o.pos == o.size;
            std::span<const std::uint8_t> chunk(out_buf.data(), o.pos);
            raw_size += chunk.size();
            // Refuse to expand past the recorded size: damage or a decompression bomb.
            if (raw_size > meta.raw_size) {
                throw Error(ErrorCode::kChecksumMismatch,
                            "decompresses to more than the recorded size of " +
                                std::to_string(meta.raw_size) + " bytes");
            }
            hash.update(chunk);
            if (!chunk.empty()) out(chunk);
            // A call that only found the output drained between frames opens none.
            if (ret == 0 || in.pos != in_before || o.pos != 0) in_frame = ret != 0;
            if (ret == 0) {
                ++frames;
                // The frames end where the recorded size is reached: what follows is not ours.
                if (raw_size == meta.raw_size) {
                    phase = Phase::kDone;
                    if (in.pos < in.size) trailing(in.size - in.pos);
                    return;
                }
            }
        }
    }

    [[noreturn]] void trailing(std::size_t bytes) const {
        invalid(std::to_string(bytes) + " bytes of trailing data after the zstd frame");
    }
};

ContainerReader::ContainerReader(Sink out) : impl_(std::make_unique<Impl>()) {
    impl_->out = std::move(out);
    if (!impl_->dctx)
        throw Error(ErrorCode::kInternal, "cannot allocate a zstd decompression context");
}

ContainerReader::~ContainerReader() = default;

void ContainerReader::feed(std::span<const std::uint8_t> stored) {
    Impl& s = *impl_;
    if (s.phase == Impl::Phase::kFailed)
        throw Error(ErrorCode::kInternal, "ContainerReader reused");
    try {
        s.stored_size += stored.size();
        if (s.phase == Impl::Phase::kMeta) stored = s.take_meta(stored);
        if (stored.empty()) return;
        if (s.phase == Impl::Phase::kDone) s.trailing(stored.size());
        s.decompress(stored);
    } catch (...) {
        s.phase = Impl::Phase::kFailed;  // the stream position is lost: no further use
        throw;
    }
}

ContainerMeta ContainerReader::finish() {
    Impl& s = *impl_;
    switch (s.phase) {
        case Impl::Phase::kFailed:
            throw Error(ErrorCode::kInternal, "ContainerReader::finish after a failed feed");
        case Impl::Phase::kMeta:
            s.phase = Impl::Phase::kFailed;
            invalid("truncated container: " + std::to_string(s.stored_size) +
                    " bytes, the metadata frame is incomplete");
        case Impl::Phase::kData:
            // Whole frames that decompress to less than the recorded size: the size check says.
            if (s.frames > 0 && !s.in_frame) break;
            s.phase = Impl::Phase::kFailed;
            invalid("truncated container: the zstd frame is incomplete after " +
                    std::to_string(s.stored_size) + " stored bytes (" + std::to_string(s.raw_size) +
                    " of " + std::to_string(s.meta.raw_size) + " bytes decompressed)");
        case Impl::Phase::kDone:
            break;
    }
    s.phase = Impl::Phase::kFailed;  // finish() consumes the reader
    if (s.raw_size != s.meta.raw_size) {
        throw Error(ErrorCode::kChecksumMismatch, "size mismatch: expected " +
                                                      std::to_string(s.meta.raw_size) +
                                                      " bytes, got " + std::to_string(s.raw_size));
    }
    Sha256Digest actual = s.hash.finish();
    if (actual != s.meta.sha256) {
        throw Error(
            ErrorCode::kChecksumMismatch,
            "sha256 mismatch: expected " + to_hex(s.meta.sha256) + ", got " + to_hex(actual));
    }
    return s.meta;
}

}  // namespace walferry
