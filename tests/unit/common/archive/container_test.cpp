#include "archive/container.h"

#include <sys/wait.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/error.h"
#include "scratch_dir.h"
#include "test_data.h"

using namespace walferry;
using Bytes = std::vector<std::uint8_t>;

namespace {

ContainerMeta segment_meta(const std::string& name) {
    ContainerMeta meta;
    meta.name = name;
    meta.sysid = 7301234567890123456ull;
    meta.tli = 3;
    meta.pg_major = 15;
    return meta;
}

CompressedFile compress(const Bytes& data, CompressOptions options = {},
                        std::size_t chunk = 1 << 20) {
    ContainerWriter writer(options);
    for (std::size_t at = 0; at < data.size(); at += chunk) {
        writer.feed(std::span(data).subspan(at, std::min(chunk, data.size() - at)));
    }
    return writer.finish(segment_meta("000000030000000A000000FF"));
}

Bytes stored_bytes(const CompressedFile& file) {
    Bytes out = file.meta_frame;
    out.insert(out.end(), file.payload.begin(), file.payload.end());
    return out;
}

struct Decoded {
    ContainerMeta meta;
    Bytes raw;
};

Decoded decode(const Bytes& stored, std::size_t chunk = 64 * 1024) {
    Decoded d;
    ContainerReader reader(
        [&](std::span<const std::uint8_t> b) { d.raw.insert(d.raw.end(), b.begin(), b.end()); });
    for (std::size_t at = 0; at < stored.size(); at += chunk) {
        reader.feed(std::span(stored).subspan(at, std::min(chunk, stored.size() - at)));
    }
    d.meta = reader.finish();
    return d;
}

// The error decoding `stored` raises (FAIL if none).
Error decode_error(const Bytes& stored, std::size_t chunk = 64 * 1024) {
    try {
        decode(stored, chunk);
    } catch (const Error& e) {
        return e;
    }
    FAIL("damaged container decoded without error");
    return Error(ErrorCode::kInternal, "");
}

bool is_damage(const Error& e) {
    return e.code() == ErrorCode::kInvalidContainer || e.code() == ErrorCode::kChecksumMismatch;
}

Error meta_error(const Bytes& head) {
    try {
        std::size_t frame_size = 0;
        decode_meta_frame(head, frame_size);
    } catch (const Error& e) {
        CHECK(e.code() == ErrorCode::kInvalidContainer);
        return e;
    }
    FAIL("metadata decoded without error");
    return Error(ErrorCode::kInternal, "");
}

// A metadata frame holding `text` verbatim.
Bytes frame_of(const std::string& text) {
    Bytes f = {0x5E, 0x2A, 0x4D, 0x18};
    auto n = static_cast<std::uint32_t>(text.size());
    for (int s = 0; s < 32; s += 8) f.push_back(static_cast<std::uint8_t>(n >> s));
    f.insert(f.end(), text.begin(), text.end());
    return f;
}

const std::string kSha = std::string(64, 'a');

}  // namespace

TEST_CASE("metadata frames round-trip and report their size", "[container]") {
    ContainerMeta meta = segment_meta("000000030000000A000000FF");
    meta.raw_size = 16 << 20;
    meta.sha256 = digest_from_hex(kSha);
    Bytes frame = encode_meta_frame(meta);
    CHECK(frame.size() <= kMetaReadSize);
    std::string text(frame.begin() + 8, frame.end());
    CHECK(text.rfind("walferry-container=1\nname=000000030000000A000000FF\n", 0) == 0);
    CHECK_THAT(text, Catch::Contains("sysid=7301234567890123456\ntli=3\npg_major=15\n"));

    // decode from a head that holds more than the frame, as stat() returns it
    Bytes head = frame;
    head.resize(kMetaReadSize, 0xAB);
    std::size_t frame_size = 0;
    CHECK(decode_meta_frame(head, frame_size) == meta);
    CHECK(frame_size == frame.size());

    ContainerMeta history;
    history.name = "00000003.history";
    history.raw_size = 42;
    Bytes hframe = encode_meta_frame(history);
    CHECK_THAT(std::string(hframe.begin(), hframe.end()), !Catch::Contains("sysid"));
    CHECK(decode_meta_frame(hframe, frame_size) == history);
}

TEST_CASE("a segment of an unverified newer version records its magic", "[container]") {
    ContainerMeta meta = segment_meta("000000030000000A000000FF");
    meta.raw_size = 16 << 20;
    meta.sha256 = digest_from_hex(kSha);
    meta.pg_major = 0;
    meta.wal_magic = 0xD125;
    Bytes frame = encode_meta_frame(meta);
    CHECK_THAT(std::string(frame.begin(), frame.end()),
               Catch::Contains("sysid=7301234567890123456\ntli=3\npg_major=0\nwal_magic=0xD125\n"));
    std::size_t frame_size = 0;
    CHECK(decode_meta_frame(frame, frame_size) == meta);
    // a known version writes no magic
    CHECK_THAT(std::string(frame.begin(), frame.end()), Catch::Contains("wal_magic"));
    meta.pg_major = 19;
    meta.wal_magic = 0;
    Bytes known = encode_meta_frame(meta);
    CHECK_THAT(std::string(known.begin(), known.end()), !Catch::Contains("wal_magic"));

    std::string base =
        "walferry-container=1\nname=000000030000000A000000FF\nraw_size=16777216\n"
        "sha256=" +
        kSha + "\nsysid=1\ntli=3\npg_major=0\n";
    CHECK_THAT(meta_error(frame_of(base)).what(), Catch::Contains("wal_magic is missing"));
    for (const char* bad : {"D125", "0x", "0xZZ", "0x0", "0x10000", "0xD125 "}) {
        INFO("wal_magic: " << bad);
        CHECK_THAT(meta_error(frame_of(base + "wal_magic=" + bad + "\n")).what(),
                   Catch::Contains("wal_magic has a malformed value"));
    }
}

TEST_CASE("metadata parsing is strict but ignores unknown keys", "[container]") {
    std::string base =
        "walferry-container=1\nname=00000002.history\nraw_size=42\nsha256=" + kSha + "\n";
    std::size_t frame_size = 0;
    ContainerMeta m = decode_meta_frame(frame_of(base + "added_later=x=y\n"), frame_size);
    CHECK(m.name == "00000002.history");
    CHECK(m.raw_size == 42);

    CHECK_THAT(meta_error(frame_of("walferry-container=2\nname=x\n")).what(),
               Catch::Contains("unknown container format version \"2\""));
    CHECK_THAT(meta_error(frame_of("name=x\nwalferry-container=1\n")).what(),
               Catch::Contains("does not start with"));
    CHECK_THAT(
        meta_error(frame_of("walferry-container=1\nraw_size=1\nsha256=" + kSha + "\n")).what(),
        Catch::Contains("metadata key name is missing"));
    CHECK_THAT(meta_error(frame_of("walferry-container=1\nname=x\nsha256=" + kSha + "\n")).what(),
               Catch::Contains("raw_size is missing"));
    CHECK_THAT(meta_error(frame_of("walferry-container=1\nname=x\nraw_size=1\n")).what(),
               Catch::Contains("sha256 is missing"));
    CHECK_THAT(meta_error(frame_of(base + "tli=2\n")).what(), Catch::Contains("sysid is missing"));
    CHECK_THAT(meta_error(frame_of(base + "name=y\n")).what(), Catch::Contains("appears twice"));
    CHECK_THAT(meta_error(frame_of(base + "garbage\n")).what(), Catch::Contains("no '='"));
    CHECK_THAT(meta_error(frame_of(base + "x=1")).what(), Catch::Contains("newline"));
    CHECK_THAT(meta_error(frame_of("")).what(), Catch::Contains("empty"));
    std::string bad_size = "walferry-container=1\nname=x\nraw_size=1k\nsha256=" + kSha + "\n";
    CHECK_THAT(meta_error(frame_of(bad_size)).what(),
               Catch::Contains("raw_size has a malformed value \"1k\""));
    std::string bad_hex = "walferry-container=1\nname=x\nraw_size=1\nsha256=abc\n";
    CHECK_THAT(meta_error(frame_of(bad_hex)).what(), Catch::Contains("sha256"));
    CHECK_THAT(meta_error(frame_of(base + "tli=-1\nsysid=1\npg_major=15\n")).what(),
               Catch::Contains("tli has a malformed value"));
    // hostile bytes are escaped in the message
    CHECK_THAT(meta_error(frame_of("walferry-container=\x01\n")).what(),
               Catch::Contains("\"\\x01\""));
}

TEST_CASE("metadata frames are recognised by magic and length", "[container]") {
    Bytes head = frame_of("walferry-container=1\n");
    Bytes wrong = head;
    wrong[0] ^= 1;
    CHECK_THAT(meta_error(wrong).what(),
               Catch::Contains("starts with 0x184D2A5F instead of the metadata frame magic"));
    CHECK_THAT(meta_error({0x28, 0xB5, 0x2F, 0xFD, 0, 0, 0, 0}).what(),
               Catch::Contains("plain zstd stream"));
    CHECK_THAT(meta_error(Bytes(head.begin(), head.begin() + 7)).what(),
               Catch::Contains("truncated container: 7 bytes"));
    CHECK_THAT(meta_error(Bytes(head.begin(), head.end() - 1)).what(),
               Catch::Contains("truncated metadata frame: 28 of 29 bytes"));
    Bytes huge = frame_of(std::string(kMetaReadSize - 7, 'x'));
    CHECK_THAT(meta_error(huge).what(),
               Catch::Contains("metadata frame of 1025 bytes exceeds the limit of 1024"));
    std::string fits = "walferry-container=1\nname=x\nraw_size=0\nsha256=" + kSha + "\npad=";
    fits += std::string(kMetaReadSize - 8 - fits.size() - 1, 'p') + "\n";
    std::size_t frame_size = 0;
    CHECK_NOTHROW(decode_meta_frame(frame_of(fits), frame_size));
    CHECK(frame_size == kMetaReadSize);
    ContainerMeta long_name;
    long_name.name = std::string(kMetaReadSize, 'n');
    CHECK_THROWS_AS(encode_meta_frame(long_name), Error);
    long_name.name = "a\nraw_size=1";
    CHECK_THROWS_AS(encode_meta_frame(long_name), Error);
}

TEST_CASE("containers round-trip at several levels and thread counts", "[container]") {
    Bytes data = test_data::wal_like(3 * (1 << 20) + 12345, 1);
    for (int level : {-5, 1, 3, 9}) {
        for (int threads : {0, 1, 2}) {
            CAPTURE(level, threads);
            CompressedFile file = compress(data, {level, threads}, 100000);
            CHECK(file.meta.raw_size == data.size());
            CHECK(file.meta.sha256 == sha256(data));
            CHECK(file.stored_size() == file.meta_frame.size() + file.payload.size());
            CHECK(file.payload.size() < data.size() / 2);
            Decoded d = decode(stored_bytes(file), 7777);
            CHECK(d.meta == file.meta);
            CHECK((d.raw == data));
        }
    }
}

TEST_CASE("an empty file makes a valid container", "[container]") {
    CompressedFile file = compress({});
    CHECK(file.meta.raw_size == 0);
    CHECK(to_hex(file.meta.sha256) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    Decoded d = decode(stored_bytes(file), 1);
    CHECK(d.raw.empty());
    CHECK(d.meta == file.meta);
}

TEST_CASE("16 MiB segments round-trip: random and compressible", "[container]") {
    Bytes random = test_data::random_bytes(16 << 20, 7);
    Bytes wal = test_data::wal_like(16 << 20, 8);
    for (const Bytes* data : {&random, &wal}) {
        CompressedFile file = compress(*data, {1, 0});
        Decoded d = decode(stored_bytes(file), 1 << 20);
        CHECK((d.raw == *data));
        CHECK(d.meta.raw_size == 16u << 20);
    }
    // incompressible data costs only zstd's block headers
    CHECK(compress(random).payload.size() < random.size() + random.size() / 1000);
}

TEST_CASE("writer misuse and bad options are errors", "[container]") {
    CHECK_THROWS_WITH(ContainerWriter({99, 0}), Catch::Contains("level 99 is outside"));
    CHECK_THROWS_WITH(ContainerWriter({1, -1}), Catch::Contains("threads must be"));
    ContainerWriter w({1, 1});
    w.finish(segment_meta("x"));
    CHECK_THROWS_AS(w.finish(segment_meta("x")), Error);
    CHECK_THROWS_AS(w.feed(Bytes(3)), Error);
}

// A damaged copy must either be refused or, if the flip hit a bit no decoder reads, still give
// exactly the original bytes: never different content presented as good.
bool refused_or_intact(const Bytes& damaged, const Bytes& data, const ContainerMeta& meta,
                       bool& refused) {
    try {
        Decoded d = decode(damaged);
        refused = false;
        return d.raw == data && d.meta == meta;
    } catch (const Error& e) {
        refused = true;
        return is_damage(e);
    }
}

TEST_CASE("any flipped bit in the payload is detected", "[container]") {
    Bytes data = test_data::wal_like(8000, 3);
    CompressedFile file = compress(data, {3, 1});
    Bytes stored = stored_bytes(file);
    const std::size_t frame = file.meta_frame.size();
    std::size_t flips = 0, refused_flips = 0;
    for (std::size_t at = frame; at < stored.size(); ++at) {
        for (int bit = 0; bit < 8; ++bit) {
            Bytes damaged = stored;
            damaged[at] ^= static_cast<std::uint8_t>(1u << bit);
            bool refused = false;
            ++flips;
            if (!refused_or_intact(damaged, data, file.meta, refused)) {
                FAIL_CHECK("flip at payload byte " << at - frame << " bit " << bit);
            }
            refused_flips += refused ? 1 : 0;
        }
    }
    // A few bits are never read by zstd (the frame header's unused bit, slack in entropy
    // tables); flipping them is harmless. Everything else must be refused.
    INFO(refused_flips << " of " << flips << " flips refused");
    CHECK(refused_flips > flips * 99 / 100);
    // incompressible data is stored in raw blocks: only the checksums can notice
    Bytes random = test_data::random_bytes(300000, 4);
    CompressedFile rfile = compress(random);
    Bytes rstored = stored_bytes(rfile);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 100; ++i) {
        Bytes damaged = rstored;
        std::size_t at = frame + 5 + rng() % (rstored.size() - frame - 5);
        damaged[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        CAPTURE(at);
        CHECK(is_damage(decode_error(damaged)));
    }
}

TEST_CASE("a truncated container is detected at every length", "[container]") {
    Bytes data = test_data::wal_like(20000, 6);
    Bytes stored = stored_bytes(compress(data));
    for (std::size_t len = 0; len < stored.size(); ++len) {
        Error e = decode_error(Bytes(stored.begin(), stored.begin() + static_cast<long>(len)), 997);
        if (e.code() != ErrorCode::kInvalidContainer ||
            std::string_view(e.what()).find("truncated") == std::string_view::npos) {
            FAIL_CHECK("truncated to " << len << " bytes: " << e.what());
        }
    }
}

TEST_CASE("trailing bytes after the zstd frame are refused", "[container]") {
    CompressedFile file = compress(test_data::wal_like(10000, 2));
    Bytes stored = stored_bytes(file);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{64 * 1024}}) {
        Bytes garbage = stored;
        garbage.push_back(0);
        Error e = decode_error(garbage, chunk);
        CHECK(e.code() == ErrorCode::kInvalidContainer);
        CHECK_THAT(e.what(), Catch::Contains("1 bytes of trailing data after the zstd frame"));
        // even a valid frame: the frames end where the recorded size is reached
        Bytes twice = stored;
        twice.insert(twice.end(), file.payload.begin(), file.payload.end());
        CHECK_THAT(decode_error(twice, chunk).what(), Catch::Contains("trailing data"));
    }
}

TEST_CASE("content not matching the metadata is a checksum mismatch", "[container]") {
    Bytes data = test_data::wal_like(50000, 9);
    CompressedFile file = compress(data);
    auto restamp = [&](ContainerMeta meta) {
        CompressedFile f = file;
        f.meta_frame = encode_meta_frame(meta);
        return stored_bytes(f);
    };
    ContainerMeta meta = file.meta;
    meta.sha256[0] ^= 0x80;
    Error e = decode_error(restamp(meta));
    CHECK(e.code() == ErrorCode::kChecksumMismatch);
    CHECK_THAT(e.what(), Catch::Contains("sha256 mismatch: expected " + to_hex(meta.sha256) +
                                         ", got " + to_hex(file.meta.sha256)));
    meta = file.meta;
    meta.raw_size += 1;
    e = decode_error(restamp(meta));
    CHECK(e.code() == ErrorCode::kChecksumMismatch);
    CHECK_THAT(e.what(), Catch::Contains("size mismatch: expected 50001 bytes, got 50000"));
    meta.raw_size -= 2;
    e = decode_error(restamp(meta));
    CHECK(e.code() == ErrorCode::kChecksumMismatch);
    CHECK_THAT(e.what(), Catch::Contains("more than the recorded size of 49999 bytes"));
}

TEST_CASE("the reader rejects what is not a container", "[container]") {
    CompressedFile file = compress(test_data::wal_like(1000, 1));
    Error e = decode_error(file.payload);
    CHECK(e.code() == ErrorCode::kInvalidContainer);
    CHECK_THAT(e.what(), Catch::Contains("plain zstd stream"));
    Bytes stored = stored_bytes(file);
    stored[3] = 0x19;
    CHECK_THAT(decode_error(stored, 3).what(),
               Catch::Contains("instead of the metadata frame magic"));
}

TEST_CASE("zstd -d restores the original bytes from a stored file", "[container]") {
    if (std::system("zstd --version >/dev/null 2>&1") != 0) {
        WARN("zstd command not installed; skipped");
        return;
    }
    ScratchDir dir;
    std::string stored_path = dir / "000000030000000A000000FF.zst";
    Bytes data = test_data::wal_like((1 << 20) + 333, 11);
    CompressedFile file = compress(data, {3, 2});
    {
        std::ofstream out(stored_path, std::ios::binary);
        Bytes stored = stored_bytes(file);
        out.write(reinterpret_cast<const char*>(stored.data()), static_cast<long>(stored.size()));
    }
    std::string command = "zstd -q -d -c '" + stored_path + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    Bytes restored;
    std::uint8_t buf[65536];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe))
        restored.insert(restored.end(), buf, buf + n);
    int status = ::pclose(pipe);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(restored.size() == data.size());
    CHECK((restored == data));
}

namespace {

// The stored file written to `path`; what `command` (given the path) prints, and its status.
std::string run_on_file(const Bytes& stored, const std::string& path, const std::string& command,
                        int& status) {
    {
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(stored.data()), static_cast<long>(stored.size()));
    }
    FILE* pipe = ::popen((command + " '" + path + "'").c_str(), "r");
    REQUIRE(pipe);
    std::string output;
    char buf[65536];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
    status = ::pclose(pipe);
    return output;
}

// A 16 MiB segment fed whole on two threads, as push does.
CompressedFile compress_whole(const Bytes& data, int threads = 2) {
    CompressOptions options{1, threads, data.size()};
    return compress(data, options, data.size());
}

}  // namespace

TEST_CASE("a segment fed whole is several frames on several threads and round-trips",
          "[container]") {
    Bytes data = test_data::wal_like((16 << 20) - 4096 + 7, 21);
    CompressedFile two = compress_whole(data);
    CHECK(two.meta.raw_size == data.size());
    CHECK(two.meta.sha256 == sha256(data));
    for (std::size_t chunk : {std::size_t{1} << 20, std::size_t{77777}}) {
        Decoded d = decode(stored_bytes(two), chunk);
        CHECK(d.meta == two.meta);
        CHECK((d.raw == data));
    }
    // The same frames, the same bytes, whatever the number of threads that made them.
    CHECK((compress_whole(data, 1).payload == two.payload));
    CHECK((compress_whole(data, 3).payload == two.payload));
    // Streamed in small feeds it is one frame: the frames cost little in size.
    CompressedFile one = compress(data, {1, 2}, 1 << 20);
    CHECK((decode(stored_bytes(one)).raw == data));
    CHECK(two.payload.size() < one.payload.size() + one.payload.size() / 50);
}

TEST_CASE("plain zstd reads every frame of a multi-frame container", "[container]") {
    if (std::system("zstd --version >/dev/null 2>&1") != 0) {
        WARN("zstd command not installed; skipped");
        return;
    }
    ScratchDir dir;
    Bytes data = test_data::wal_like(16 << 20, 22);
    Bytes stored = stored_bytes(compress_whole(data));
    int status = 0;
    std::string listed = run_on_file(stored, dir / "seg.zst", "zstd -lv", status);
    CHECK(WEXITSTATUS(status) == 0);
    // zstd -lv counts the metadata frame too ("Skippable Frames: 1").
    CHECK_THAT(listed, Catch::Contains("Zstandard Frames: 8"));
    std::string restored = run_on_file(stored, dir / "seg.zst", "zstd -q -d -c", status);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(restored.size() == data.size());
    CHECK((Bytes(restored.begin(), restored.end()) == data));
}

TEST_CASE("damage in a later frame is detected and a missing last frame too", "[container]") {
    Bytes data = test_data::wal_like(16 << 20, 23);
    CompressedFile file = compress_whole(data);
    const Bytes stored = stored_bytes(file);
    const std::size_t payload_at = file.meta_frame.size();
    std::mt19937_64 rng(24);
    for (int i = 0; i < 20; ++i) {
        // In the last quarter of the payload: the sixth of eight frames or later.
        Bytes damaged = stored;
        std::size_t at =
            payload_at + file.payload.size() * 3 / 4 + rng() % (file.payload.size() / 4);
        damaged[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        CAPTURE(at);
        bool refused = false;
        CHECK(refused_or_intact(damaged, data, file.meta, refused));
    }
    // One frame overwritten by another of the same length: each decodes, the SHA-256 tells.
    CompressedFile copy = compress_whole(Bytes(data.begin(), data.begin() + (8 << 20)));
    Bytes spliced = file.meta_frame;
    for (int twice = 0; twice < 2; ++twice)
        spliced.insert(spliced.end(), copy.payload.begin(), copy.payload.end());
    Error e = decode_error(spliced);
    CHECK(e.code() == ErrorCode::kChecksumMismatch);
    CHECK_THAT(e.what(), Catch::Contains("sha256 mismatch"));
    // The stored file cut where a frame ends (its first half is those same frames): every frame
    // decodes, the size is short.
    Bytes first_half = file.meta_frame;
    first_half.insert(first_half.end(), copy.payload.begin(), copy.payload.end());
    e = decode_error(first_half);
    CHECK(e.code() == ErrorCode::kChecksumMismatch);
    CHECK_THAT(e.what(), Catch::Contains("size mismatch: expected 16777216 bytes, got 8388608"));
}
