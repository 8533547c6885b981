// Fuzzes the archive container decoder (archive/container.h): the parser of the bytes that come
// from other machines. Byte 0 of the input picks the mode (bit 0) and the size of the pieces the
// decoder is fed (the rest, 1..128 bytes):
//   even: the rest of the input is a stored file, read as it would arrive;
//   odd:  bytes 1..8 choose the metadata and a cut and a bit flip, the rest is the raw content.
//         The content is written with ContainerWriter, read back, then read again truncated,
//         extended by a byte and with the one bit flipped.
// What the reader accepts always decompresses to exactly the recorded size and SHA-256 (checked
// against OpenSSL and libzstd directly), whatever the piece size; what it refuses, it refuses
// with Error(kInvalidContainer) or Error(kChecksumMismatch) and a printable one-line message.
#include <openssl/evp.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "archive/container.h"
#include "archive/sha256.h"
#include "base/error.h"
#include "fuzz_check.h"

namespace walferry::fuzz {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct ReadResult {
    std::optional<ContainerMeta> meta;  // set when the reader accepted
    Bytes out;                          // what it handed over (also before a refusal)
};

// The two ways the reader may say no; anything else escapes or fails the check.
void check_refusal(const Error& e) {
    check_rejection(e, e.code() == ErrorCode::kChecksumMismatch ? ErrorCode::kChecksumMismatch
                                                                : ErrorCode::kInvalidContainer);
}

ReadResult read_container(std::span<const std::uint8_t> stored, std::size_t piece) {
    ReadResult r;
    try {
        ContainerReader reader([&](std::span<const std::uint8_t> b) {
            r.out.insert(r.out.end(), b.begin(), b.end());
        });
        for (std::size_t pos = 0; pos < stored.size(); pos += piece) {
            reader.feed(stored.subspan(pos, std::min(piece, stored.size() - pos)));
        }
        r.meta = reader.finish();
    } catch (const Error& e) {
        check_refusal(e);
    }
    return r;
}

Sha256Digest openssl_sha256(std::span<const std::uint8_t> bytes) {
    Sha256Digest digest{};
    unsigned int length = 0;
    WALFERRY_FUZZ_CHECK(
        EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) == 1);
    WALFERRY_FUZZ_CHECK(length == digest.size());
    return digest;
}

// The metadata the writer would store for `meta`, decoded again (the canonical form). The segment
// fields are one group, written only when one of sysid, tli, pg_major is set: a frame with all
// three 0 and a wal_magic (which no writer makes) loses the wal_magic.
void check_meta_round_trip(const ContainerMeta& meta) {
    bool storable = meta.name.find('\0') == std::string::npos;
    if (!storable) return;  // a name encode_meta_frame refuses to write (kInternal)
    ContainerMeta expected = meta;
    if (meta.sysid == 0 && meta.tli == 0 && meta.pg_major == 0) expected.wal_magic = 0;
    Bytes frame;
    try {
        frame = encode_meta_frame(meta);
    } catch (const Error& e) {
        // Only a frame near the limit whose canonical numbers are longer may not fit again.
        check_rejection(e, ErrorCode::kInternal);
        return;
    }
    std::size_t frame_size = 0;
    auto decoded = accepted(ErrorCode::kInvalidContainer,
                            [&] { return decode_meta_frame(frame, frame_size); });
    WALFERRY_FUZZ_CHECK(decoded.has_value());
    WALFERRY_FUZZ_CHECK(frame_size == frame.size());
    WALFERRY_FUZZ_CHECK(*decoded == expected);
}

// What every accepted read must hold, and that the decoder's verdict does not depend on how the
// bytes are cut into pieces.
void check_read(std::span<const std::uint8_t> stored, const ReadResult& r, std::size_t piece) {
    ReadResult whole = piece >= stored.size() ? r : read_container(stored, stored.size());
    WALFERRY_FUZZ_CHECK(whole.meta.has_value() == r.meta.has_value());
    std::size_t frame_size = 0;
    auto head = accepted(ErrorCode::kInvalidContainer,
                         [&] { return decode_meta_frame(stored, frame_size); });
    if (!r.meta) return;
    WALFERRY_FUZZ_CHECK(*whole.meta == *r.meta && whole.out == r.out);
    WALFERRY_FUZZ_CHECK(r.out.size() == r.meta->raw_size);
    WALFERRY_FUZZ_CHECK(openssl_sha256(r.out) == r.meta->sha256);
    WALFERRY_FUZZ_CHECK(head.has_value() && *head == *r.meta);
    WALFERRY_FUZZ_CHECK(frame_size <= kMetaReadSize && frame_size < stored.size());
    check_meta_round_trip(*r.meta);
}

ReadResult read_and_check(std::span<const std::uint8_t> stored, std::size_t piece) {
    ReadResult r = read_container(stored, piece);
    check_read(stored, r, piece);
    return r;
}

// Metadata for a written file, chosen by `choice` (names of every kind, with and without the
// segment fields, a newer PostgreSQL's page magic).
ContainerMeta written_meta(std::span<const std::uint8_t, 8> choice) {
    static constexpr std::array kNames = {"000000010000000000000001", "00000002.history",
                                          "000000010000000A000000FF.partial",
                                          "000000010000000000000002.00000028.backup"};
    ContainerMeta meta;
    meta.name = kNames[choice[0] % kNames.size()];
    if (choice[0] & 4) {
        meta.sysid = 7000000000000000000ull + choice[1];
        meta.tli = 1 + choice[2] % 16;
        meta.pg_major = (choice[0] & 8) ? 12 + choice[3] % 8 : 0;
        if (meta.pg_major == 0) meta.wal_magic = static_cast<std::uint16_t>(0xD122 + choice[3]);
    }
    return meta;
}

void check_written(std::span<const std::uint8_t> input, std::size_t piece) {
    if (input.size() < 8) return;
    auto choice = input.first<8>();
    auto content = input.subspan(8);

    ContainerWriter writer(CompressOptions{.level = 1});
    for (std::size_t pos = 0; pos < content.size(); pos += piece) {
        writer.feed(content.subspan(pos, std::min(piece, content.size() - pos)));
    }
    ContainerMeta meta = written_meta(choice);
    CompressedFile file = writer.finish(meta);
    WALFERRY_FUZZ_CHECK(file.meta.raw_size == content.size());
    WALFERRY_FUZZ_CHECK(file.meta.sha256 == openssl_sha256(content));
    meta.raw_size = file.meta.raw_size;
    meta.sha256 = file.meta.sha256;
    WALFERRY_FUZZ_CHECK(file.meta == meta);
    Bytes stored = file.meta_frame;
    stored.insert(stored.end(), file.payload.begin(), file.payload.end());

    // Plain zstd skips the metadata frame and gives the content back (what `zstd -d` does).
    Bytes plain(content.size() + 1);
    std::size_t n = ZSTD_decompress(plain.data(), plain.size(), stored.data(), stored.size());
    WALFERRY_FUZZ_CHECK(!ZSTD_isError(n) && n == content.size());
    WALFERRY_FUZZ_CHECK(std::equal(content.begin(), content.end(), plain.begin()));

    ReadResult back = read_and_check(stored, piece);
    WALFERRY_FUZZ_CHECK(back.meta.has_value() && *back.meta == file.meta);
    WALFERRY_FUZZ_CHECK(
        std::equal(back.out.begin(), back.out.end(), content.begin(), content.end()));

    // Every strict prefix is refused: a copy cut short is never taken for the whole file.
    std::size_t cut = (choice[4] | std::size_t{choice[5]} << 8) % stored.size();
    WALFERRY_FUZZ_CHECK(!read_and_check(std::span(stored).first(cut), piece).meta);

    // A byte after the zstd frame is refused.
    Bytes longer = stored;
    longer.push_back(choice[6]);
    WALFERRY_FUZZ_CHECK(!read_and_check(longer, piece).meta);

    // A flipped bit is refused, or (a bit zstd or the metadata parser does not depend on, say
    // the case of a sha256 hex digit) hands over exactly the original content, size and digest.
    Bytes flipped = stored;
    std::size_t at = (choice[6] | std::size_t{choice[7]} << 8) % stored.size();
    flipped[at] ^= static_cast<std::uint8_t>(1u << (choice[7] % 8));
    ReadResult damaged = read_and_check(flipped, piece);
    if (damaged.meta) {
        WALFERRY_FUZZ_CHECK(damaged.meta->raw_size == file.meta.raw_size);
        WALFERRY_FUZZ_CHECK(damaged.meta->sha256 == file.meta.sha256);
        WALFERRY_FUZZ_CHECK(
            std::equal(damaged.out.begin(), damaged.out.end(), content.begin(), content.end()));
    }
}

}  // namespace

void test_one_input(std::span<const std::uint8_t> data) {
    if (data.empty()) return;
    std::size_t piece = (data[0] >> 1) + 1u;
    auto rest = data.subspan(1);
    if (data[0] & 1) {
        check_written(rest, piece);
    } else {
        read_and_check(rest, piece);
    }
}

}  // namespace walferry::fuzz
