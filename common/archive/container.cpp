#include "archive/container.h"

#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <charconv>
#include <future>
#include <map>
#include <string_view>

#include "base/error.h"
#include "base/escape.h"
#include "wal/wal_page_header.h"

namespace walferry {

namespace {

constexpr std::size_t kFrameHeaderSize = 8;  // magic + length, both u32 little-endian
constexpr std::string_view kVersionKey = "walferry-container";
constexpr int kJobSize = 2 << 20;                    // zstd worker job size, see ContainerWriter
constexpr std::size_t kParallelHashMin = 256 << 10;  // smaller chunks are hashed inline

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
    std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx{ZSTD_createCCtx()};
    Sha256 hash;
    std::uint64_t raw_size = 0;
    std::vector<std::uint8_t> payload;
    std::vector<std::uint8_t> out_buf = std::vector<std::uint8_t>(ZSTD_CStreamOutSize());
    bool finished = false;

    // Returns what ZSTD_compressStream2 returned last (0 once an ZSTD_e_end flush is complete).
    std::size_t compress(ZSTD_inBuffer& in, ZSTD_EndDirective mode) {
        ZSTD_outBuffer out{out_buf.data(), out_buf.size(), 0};
        std::size_t ret = ZSTD_compressStream2(cctx.get(), &out, &in, mode);
        if (ZSTD_isError(ret)) {
            throw Error(ErrorCode::kInternal,
                        std::string("zstd compression failed: ") + ZSTD_getErrorName(ret));
        }
        payload.insert(payload.end(), out_buf.data(), out_buf.data() + out.pos);
        return ret;
    }
};

ContainerWriter::ContainerWriter(const CompressOptions& options) : impl_(std::make_unique<Impl>()) {
    ZSTD_CCtx* c = impl_->cctx.get();
    if (c == nullptr)
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
    int workers = options.threads;
    if (workers == 0 && options.size_hint > kAutoWorkersAbove) {
        workers = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    }
    if (options.size_hint > 0) {
        // Room for WAL that compresses 4:1; untouched reserved pages cost nothing.
        impl_->payload.reserve(static_cast<std::size_t>(options.size_hint / 4));
    }
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
    // A libzstd built without threads refuses workers; single-threaded output is the same format,
    // only slower, so that is not worth failing a push for.
    if (workers == 0 || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, workers))) {
        set(ZSTD_c_nbWorkers, 0, "nbWorkers");
    } else {
        // zstd's default job is several times the window (8 MiB and more from level 3), so a
        // 16 MiB segment makes one or two jobs and the workers hardly overlap: on real pgbench WAL
        // level 3 took 58 ms with the default and 15 ms with 2 MiB jobs, for 0.2% less ratio.
        set(ZSTD_c_jobSize, kJobSize, "jobSize");
    }
}

ContainerWriter::~ContainerWriter() = default;

void ContainerWriter::feed(std::span<const std::uint8_t> raw) {
    if (impl_->finished) throw Error(ErrorCode::kInternal, "ContainerWriter::feed after finish");
    impl_->raw_size += raw.size();
    ZSTD_inBuffer in{raw.data(), raw.size(), 0};
    // With workers, zstd may return before taking all input; keep calling until it has.
    auto compress_all = [&] {
        while (in.pos < in.size) impl_->compress(in, ZSTD_e_continue);
    };
    if (raw.size() < kParallelHashMin) {
        impl_->hash.update(raw);
        compress_all();
        return;
    }
    // SHA-256 costs about a third of what zstd does on WAL: on a second core it runs while this
    // thread compresses the same bytes. The future's get() (or destructor, if compress throws)
    // waits for it, so `raw` outlives the digest.
    auto digest = std::async(std::launch::async, [&] { impl_->hash.update(raw); });
    compress_all();
    digest.get();
}

CompressedFile ContainerWriter::finish(ContainerMeta meta) {
    if (impl_->finished) throw Error(ErrorCode::kInternal, "ContainerWriter::finish called twice");
    impl_->finished = true;
    ZSTD_inBuffer in{nullptr, 0, 0};
    while (impl_->compress(in, ZSTD_e_end) != 0) {
    }
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
            if (ret == 0) {
                phase = Phase::kDone;
                if (in.pos < in.size) trailing(in.size - in.pos);
                return;
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
