// walferry-fetch's exit contract and what a call leaves next to %p: "not found" only from an
// archive that answered, the mode of failures that happen before any source is asked, the bound
// on what a stored file may decompress to, temp files named for the signal handler and the sweep
// of stale ones (the handler itself: tests/unit/common/base/durable_file_test.cpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "archive/archive_info.h"
#include "archive/checked_reader.h"
#include "archive/container.h"
#include "archive_fetch/fetch.h"
#include "archive_fetch/restore_file.h"
#include "archive_fetch/temp_file.h"
#include "base/error.h"
#include "memory_store.h"
#include "scratch_dir.h"
#include "store/file_store.h"
#include "store_test_helpers.h"
#include "wal/timeline_history.h"

using namespace walferry;
using walferry::testing::error_of;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSegSize = 1u << 20;
constexpr std::uint64_t kClaimed = 1ull << 40;  // what a forged metadata frame says

WalName parsed(std::string_view name) {
    return parse_wal_name(name);
}

// The first page header of segment 1 on timeline 1 of a 1 MiB wal_segment_size (PostgreSQL 15).
std::vector<std::uint8_t> page_header() {
    std::vector<std::uint8_t> h(kWalLongHeaderSize, 0);
    auto put = [&](std::size_t off, auto v) { std::memcpy(h.data() + off, &v, sizeof v); };
    put(0, std::uint16_t{0xD110});
    put(2, std::uint16_t{0x0002});
    put(4, std::uint32_t{1});
    put(8, std::uint64_t{kSegSize});  // segment 1
    put(24, std::uint64_t{7300000000000000001ULL});
    put(32, static_cast<std::uint32_t>(kSegSize));
    put(36, std::uint32_t{8192});
    return h;
}

// A stored file of `name` whose zstd stream is `head` then `zeros` zero bytes (a few KB
// compressed), behind a metadata frame that claims kClaimed raw bytes.
std::vector<std::uint8_t> bomb(const WalName& name, const std::vector<std::uint8_t>& head,
                               std::uint64_t zeros) {
    ContainerWriter writer(CompressOptions{1, 1});
    writer.feed(head);
    std::vector<std::uint8_t> chunk(1u << 20, 0);
    for (std::uint64_t left = zeros; left > 0;) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        writer.feed(std::span(chunk.data(), n));
        left -= n;
    }
    ContainerMeta meta;
    meta.name = name.wal_file_name();
    if (name.has_wal_pages()) {
        meta.sysid = 7300000000000000001ULL;
        meta.tli = 1;
        meta.pg_major = 15;
    }
    CompressedFile file = writer.finish(meta);
    meta = file.meta;
    meta.raw_size = kClaimed;
    std::vector<std::uint8_t> out = encode_meta_frame(meta);
    out.insert(out.end(), file.payload.begin(), file.payload.end());
    return out;
}

// Bytes CheckedReader hands on for `stored`, and the error it ends with.
std::pair<std::uint64_t, Error> decompressed_until_refused(
    const WalName& name, const std::vector<std::uint8_t>& stored) {
    std::uint64_t out = 0;
    CheckedReader reader(name, "memory://test", [&](auto bytes) { out += bytes.size(); });
    Error e = error_of([&] {
        for (std::size_t at = 0; at < stored.size(); at += 4096) {
            reader.feed(
                std::span(stored).subspan(at, std::min<std::size_t>(4096, stored.size() - at)));
        }
        reader.finish();
    });
    return {out, e};
}

}  // namespace

TEST_CASE("a stored segment claiming a huge raw size writes no more than its wal_segment_size",
          "[fetch_exit]") {
    const WalName name = parsed("000000010000000000000001");
    const std::vector<std::uint8_t> stored = bomb(name, page_header(), 32 * kSegSize);
    CHECK(stored.size() < 64 * 1024);
    auto [written, error] = decompressed_until_refused(name, stored);
    CHECK(written <= kSegSize);
    CHECK(error.code() == ErrorCode::kInvalidContainer);
    CHECK_THAT(error.what(),
               Catch::Contains("is damaged") && Catch::Contains("more than 1048576 bytes"));

    // Through restore_file: the error, and nothing at or next to %p.
    ScratchDir scratch;
    fs::create_directories(scratch / "pg_wal");
    MemoryStore store;
    store.files[name.archive_file_name()] = stored;
    store.set(kArchiveInfoName, "x");
    Error e = error_of([&] { restore_file(store, name, scratch / "pg_wal/RECOVERYXLOG"); });
    CHECK(e.code() == ErrorCode::kInvalidContainer);
    CHECK(names_in(scratch / "pg_wal").empty());
}

TEST_CASE("a stored segment whose first 40 bytes are no page header is refused there",
          "[fetch_exit]") {
    const WalName name = parsed("000000010000000000000001");
    std::vector<std::uint8_t> head = page_header();
    head[0] = 0;  // no magic
    auto [written, error] = decompressed_until_refused(name, bomb(name, head, 32 * kSegSize));
    CHECK(written <= kWalLongHeaderSize);
    CHECK(error.code() == ErrorCode::kInvalidContainer);
    CHECK_THAT(error.what(), Catch::Contains("is damaged"));
}

TEST_CASE("a stored history or backup file claiming a huge raw size stops at the cap",
          "[fetch_exit]") {
    for (std::string_view file : {"00000002.history", "000000010000000000000001.00000028.backup"}) {
        const WalName name = parsed(file);
        std::vector<std::uint8_t> text(100, '#');
        auto [written, error] =
            decompressed_until_refused(name, bomb(name, text, 2 * kMaxSmallWalFileSize));
        CHECK(written <= kMaxSmallWalFileSize);
        CHECK(error.code() == ErrorCode::kInvalidContainer);
        CHECK_THAT(error.what(),
                   Catch::Contains("more than " + std::to_string(kMaxSmallWalFileSize) + " bytes"));
    }
}

TEST_CASE("not found only from an archive that holds walferry.info", "[fetch_exit]") {
    ScratchDir scratch;
    const WalName name = parsed("000000010000000000000009");
    const std::string target = scratch / "RECOVERYXLOG";
    MemoryStore store;
    Error e = error_of([&] { restore_file(store, name, target); });
    CHECK(e.code() == ErrorCode::kConfig);
    CHECK_THAT(e.what(), Catch::Contains("memory://memory has no walferry.info"));
    store.set(kArchiveInfoName, "system_identifier = 1\n");
    CHECK(restore_file(store, name, target) == RestoreOutcome::kNotFound);

    FileStore missing(scratch / "missing");
    e = error_of([&] { restore_file(missing, name, target); });
    CHECK(e.code() == ErrorCode::kIo);
    CHECK_THAT(e.what(), Catch::Contains("does not exist"));
    fs::create_directories(scratch / "empty");
    FileStore empty(scratch / "empty");
    CHECK(error_of([&] { restore_file(empty, name, target); }).code() == ErrorCode::kConfig);
    CHECK(names_in(scratch.path()) == std::vector<std::string>{"empty"});
}

TEST_CASE("the mode of a failure is known before anything can fail", "[fetch_exit]") {
    auto mode_of = [](std::vector<const char*> args) {
        args.insert(args.begin(), "walferry-fetch");
        return mode_in_arguments(static_cast<int>(args.size()), args.data());
    };
    CHECK(mode_of({"%f"}) == RecoveryMode::kAuto);
    CHECK(mode_of({"--mode", "recovery", "--bogus"}) == RecoveryMode::kRecovery);
    CHECK(mode_of({"--mode=standby", "x"}) == RecoveryMode::kStandby);
    CHECK(mode_of({"--mode=standby", "--mode", "recovery"}) == RecoveryMode::kRecovery);
    CHECK(mode_of({"--mode", "sometimes"}) == RecoveryMode::kAuto);
    CHECK(mode_of({"--", "--mode=standby"}) == RecoveryMode::kAuto);
    CHECK(mode_of({"--mode"}) == RecoveryMode::kAuto);

    ScratchDir scratch;
    const std::string dir = scratch.path();
    // By hand, outside a data directory: a usage error keeps 2, an invalid name 3.
    CHECK(failure_status(ErrorCode::kUsage, RecoveryMode::kAuto, dir) == 2);
    CHECK(failure_status(ErrorCode::kInvalidName, RecoveryMode::kAuto, dir) == 3);
    CHECK(failure_status(ErrorCode::kIo, RecoveryMode::kAuto, dir) == 255);
    CHECK(failure_status(ErrorCode::kNotFound, RecoveryMode::kAuto, dir) == 1);
    CHECK(failure_status(ErrorCode::kUsage, RecoveryMode::kRecovery, dir) == 255);
    CHECK(failure_status(ErrorCode::kUsage, RecoveryMode::kStandby, dir) == 2);
    // In a data directory, as PostgreSQL runs restore_command: by the mode.
    scratch.write("PG_VERSION", "15\n");
    CHECK(failure_status(ErrorCode::kUsage, RecoveryMode::kAuto, dir) == 255);
    CHECK(failure_status(ErrorCode::kInvalidName, RecoveryMode::kAuto, dir) == 255);
    scratch.write("standby.signal", "");
    CHECK(failure_status(ErrorCode::kUsage, RecoveryMode::kAuto, dir) == 2);  // "go on" anyway
    CHECK(failure_status(ErrorCode::kConfig, RecoveryMode::kAuto, dir) == 1);
    CHECK(failure_status(ErrorCode::kConfig, RecoveryMode::kRecovery, dir) == 255);
    // A directory that cannot be looked into shows no standby.signal: recovery.
    CHECK(resolve_mode(RecoveryMode::kAuto, scratch / "gone") == RecoveryMode::kRecovery);
}

TEST_CASE("temp file names have one form", "[fetch_exit]") {
    CHECK(is_temp_file_name("RECOVERYXLOG.walferry-tmp.AbC123"));
    CHECK(is_temp_file_name("000000010000000000000007.walferry-tmp.zzzzzz"));
    CHECK_FALSE(is_temp_file_name(".walferry-tmp.AbC123"));
    CHECK_FALSE(is_temp_file_name("RECOVERYXLOG.walferry-tmp.AbC12"));
    CHECK_FALSE(is_temp_file_name("RECOVERYXLOG.walferry-tmp.AbC1234"));
    CHECK_FALSE(is_temp_file_name("RECOVERYXLOG.walferry-tmp.AbC-23"));
    CHECK_FALSE(is_temp_file_name("RECOVERYXLOG.walferry-tmpXAbC123"));
    CHECK_FALSE(is_temp_file_name("000000010000000000000007"));
    // The temp files fetch makes have it (the sweeps find what a killed call left), and next to
    // %p the signals remove them.
    ScratchDir scratch;
    TempFile temp(AT_FDCWD, "", temp_name_next_to(scratch / "RECOVERYXLOG"));
    CHECK(is_temp_file_name(fs::path(temp.path()).filename().string()));
    CHECK(temp_name_next_to("x").remove_on_signal);
}

TEST_CASE("old temp files next to the target are swept and nothing else", "[fetch_exit]") {
    ScratchDir scratch;
    const int old = kStaleTempMinutes * 60 + 60;
    for (std::string_view f :
         {"RECOVERYXLOG.walferry-tmp.AbC123", "RECOVERYHISTORY.walferry-tmp.x1y2z3",
          "RECOVERYXLOG.walferry-tmp.Fresh1", "RECOVERYXLOG.walferry-tmp.long123",
          "000000010000000000000007"}) {
        scratch.write(f, "half");
        if (f != "RECOVERYXLOG.walferry-tmp.Fresh1") set_age(scratch / f, old);
    }
    scratch.write("elsewhere", "keep");
    fs::create_symlink(scratch / "elsewhere", scratch / "RECOVERYXLOG.walferry-tmp.Link12");
    set_age(scratch / "RECOVERYXLOG.walferry-tmp.Link12", old);
    fs::create_directory(scratch / "RECOVERYXLOG.walferry-tmp.Dir123");
    set_age(scratch / "RECOVERYXLOG.walferry-tmp.Dir123", old);
    remove_stale_temps_next_to(scratch / "RECOVERYXLOG");
    CHECK(names_in(scratch.path()) ==
          std::vector<std::string>{"000000010000000000000007", "RECOVERYXLOG.walferry-tmp.Dir123",
                                   "RECOVERYXLOG.walferry-tmp.Fresh1",
                                   "RECOVERYXLOG.walferry-tmp.Link12",
                                   "RECOVERYXLOG.walferry-tmp.long123", "elsewhere"});
    remove_stale_temps_next_to(scratch / "no-such-dir/RECOVERYXLOG");  // never fails
}
