// The wrong-cluster guard of walferry-fetch: pg_control read and checked, which pg_control a
// call trusts, and segments of another cluster (than the server's or than the archive's
// walferry.info) refused by restore_file, never handed to %p.
#include "archive_fetch/cluster_guard.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "archive/archive_info.h"
#include "archive/container.h"
#include "archive/pg_control.h"
#include "archive_fetch/restore_file.h"
#include "base/error.h"
#include "expect_error.h"
#include "memory_store.h"
#include "scratch_dir.h"
#include "test_data.h"

using namespace walferry;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t k1M = 1u << 20;
constexpr std::uint64_t kOurs = 7300000000000000001ULL;
constexpr std::uint64_t kTheirs = 7400000000000000002ULL;

// A pg_control of `size` bytes for cluster `sysid`, its CRC at `crc_offset` (PostgreSQL 15's
// ControlFileData is 296 bytes: the CRC at 292).
std::vector<std::uint8_t> pg_control(std::uint64_t sysid, std::size_t crc_offset = 292,
                                     std::size_t size = kPgControlFileSize) {
    std::vector<std::uint8_t> bytes = test_data::random_bytes(crc_offset, sysid);
    std::memcpy(bytes.data(), &sysid, sizeof sysid);
    std::uint32_t version = 1300;
    std::memcpy(bytes.data() + 8, &version, sizeof version);
    std::uint32_t crc = crc32c(bytes);
    bytes.resize(size, 0);
    std::memcpy(bytes.data() + crc_offset, &crc, sizeof crc);
    return bytes;
}

void write_pg_control(const std::string& data_dir, const std::vector<std::uint8_t>& bytes) {
    fs::create_directories(data_dir + "/global");
    std::ofstream(data_dir + "/global/pg_control", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
}

WalName seg6() {
    return parse_wal_name("000000010000000000000006");
}

// Segment 6 of cluster `sysid` (1 MiB, PostgreSQL 15), stored as a container.
std::vector<std::uint8_t> stored_segment(std::uint64_t sysid) {
    const WalName name = seg6();
    std::vector<std::uint8_t> raw = test_data::random_bytes(k1M, 6);
    auto put = [&](std::size_t off, auto v) { std::memcpy(raw.data() + off, &v, sizeof v); };
    put(0, std::uint16_t{0xD110});
    put(2, std::uint16_t{0x0002});
    put(4, name.tli);
    put(8, std::uint64_t{name.segno(k1M) * k1M});
    put(24, sysid);
    put(32, static_cast<std::uint32_t>(k1M));
    put(36, std::uint32_t{8192});
    ContainerWriter writer(CompressOptions{1, 1});
    writer.feed(raw);
    ContainerMeta meta;
    meta.name = name.wal_file_name();
    meta.sysid = sysid;
    meta.tli = 1;
    meta.pg_major = 15;
    CompressedFile file = writer.finish(meta);
    std::vector<std::uint8_t> out = file.meta_frame;
    out.insert(out.end(), file.payload.begin(), file.payload.end());
    return out;
}

}  // namespace

TEST_CASE("crc32c is PostgreSQL's CRC-32C", "[cluster_guard]") {
    const std::string check = "123456789";
    CHECK(crc32c(std::span(reinterpret_cast<const std::uint8_t*>(check.data()), check.size())) ==
          0xE3069283U);
    CHECK(crc32c({}) == 0);
}

TEST_CASE("the system identifier is read from pg_control once its CRC matches", "[cluster_guard]") {
    // The CRC's place differs by version (ControlFileData grows): found wherever it is.
    for (std::size_t offset : {240u, 292u, 296u, 1000u}) {
        INFO("crc at " << offset);
        CHECK(parse_pg_control_sysid(pg_control(kOurs, offset), "pg_control") == kOurs);
    }
    CHECK(parse_pg_control_sysid(pg_control(kTheirs, 292, 300), "pg_control") == kTheirs);
    // One byte changed, a zeroed file, a short one, a larger one, sysid 0: refused, named.
    auto bad = pg_control(kOurs);
    bad[20] ^= 1;
    std::string message = test_errors::error_message(
        ErrorCode::kIo, [&] { parse_pg_control_sysid(bad, "/data/global/pg_control"); });
    CHECK(message.find("\"/data/global/pg_control\" is not a valid pg_control file") == 0);
    test_errors::error_message(ErrorCode::kIo, [&] {
        parse_pg_control_sysid(std::vector<std::uint8_t>(kPgControlFileSize), "p");
    });
    test_errors::error_message(ErrorCode::kIo,
                               [&] { parse_pg_control_sysid(std::vector<std::uint8_t>(7), "p"); });
    test_errors::error_message(ErrorCode::kIo, [&] {
        parse_pg_control_sysid(pg_control(kOurs, 292, kPgControlFileSize + 1), "p");
    });
    test_errors::error_message(ErrorCode::kIo, [&] { parse_pg_control_sysid(pg_control(0), "p"); });
}

TEST_CASE("the recovering server is the data directory of %p or else the working directory",
          "[cluster_guard]") {
    ScratchDir scratch;
    const std::string data = scratch / "data", other = scratch / "other";
    fs::create_directories(data + "/pg_wal");
    fs::create_directories(other);
    // No pg_control anywhere: unknown, not an error.
    CHECK_FALSE(read_pg_control_sysid(data).has_value());
    CHECK_FALSE(recovering_server_sysid(other, data + "/pg_wal/RECOVERYXLOG").has_value());
    write_pg_control(data, pg_control(kOurs));
    write_pg_control(other, pg_control(kTheirs));
    CHECK(read_pg_control_sysid(data) == kOurs);
    // PostgreSQL: the working directory is PGDATA, %p is relative to it.
    CHECK(recovering_server_sysid(data, "pg_wal/RECOVERYXLOG") == kOurs);
    // pg_rewind: %p in the target's pg_wal, run from anywhere (even another data directory).
    CHECK(recovering_server_sysid(other, data + "/pg_wal/000000010000000000000006") == kOurs);
    CHECK(recovering_server_sysid("/", data + "/./pg_wal/000000010000000000000006") == kOurs);
    // %p not in a pg_wal directory: the working directory's.
    CHECK(recovering_server_sysid(other, scratch / "x/RECOVERYXLOG") == kTheirs);
    // A damaged pg_control is an error, not "unknown".
    auto bad = pg_control(kOurs);
    bad[9] ^= 0x40;
    write_pg_control(data, bad);
    test_errors::error_message(ErrorCode::kIo, [&] { recovering_server_sysid(data, "pg_wal/x"); });
}

TEST_CASE("restore_file hands over only a segment of the server's and the archive's cluster",
          "[cluster_guard]") {
    ScratchDir scratch;
    const std::string target = scratch / "RECOVERYXLOG";
    MemoryStore archive("sftp://h/archive");
    archive.files[seg6().archive_file_name()] = stored_segment(kOurs);
    archive.set(kArchiveInfoName, format_archive_info({kOurs, 15, k1M}));
    auto refused = [&](std::optional<std::uint64_t> server, const std::string& says) {
        INFO(says);
        scratch.write("RECOVERYXLOG", "old");
        std::string message = test_errors::error_message(ErrorCode::kForeignCluster, [&] {
            restore_file(archive, seg6(), target, nullptr, server);
        });
        CHECK(message.find(says) != std::string::npos);
        CHECK(message.find("sftp://h/archive") != std::string::npos);
        CHECK(scratch.read("RECOVERYXLOG") == "old");
        std::size_t files = 0;
        for (const auto& e : fs::directory_iterator(scratch.path())) files += e.exists() ? 1 : 0;
        CHECK(files == 1);  // no temporary file left
    };
    std::uint64_t size = 0;
    CHECK(restore_file(archive, seg6(), target, &size, kOurs) == RestoreOutcome::kRestored);
    CHECK(size == k1M);
    CHECK(restore_file(archive, seg6(), target, &size) == RestoreOutcome::kRestored);

    // The recovering server is another cluster (a data directory re-created at the same path).
    refused(kTheirs, "the recovering server's is " + std::to_string(kTheirs));
    // The archive was rebuilt for another cluster, an old segment left in it.
    archive.set(kArchiveInfoName, format_archive_info({kTheirs, 15, k1M}));
    refused(std::nullopt, "walferry.info records " + std::to_string(kTheirs));
    refused(kOurs, "walferry.info records " + std::to_string(kTheirs));
    // An archive without walferry.info cannot vouch for any segment.
    archive.files.erase(std::string(kArchiveInfoName));
    refused(kOurs, "walferry.info is missing");
    // A .history carries no system identifier: served as before.
    archive.files["00000002.history.zst"] = [] {
        const std::string text = "1\t0/6000000\tno recovery target specified\n";
        ContainerWriter writer(CompressOptions{1, 1});
        writer.feed(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
        ContainerMeta meta;
        meta.name = "00000002.history";
        CompressedFile file = writer.finish(meta);
        std::vector<std::uint8_t> out = file.meta_frame;
        out.insert(out.end(), file.payload.begin(), file.payload.end());
        return out;
    }();
    CHECK(restore_file(archive, parse_wal_name("00000002.history"), target, nullptr, kOurs) ==
          RestoreOutcome::kRestored);
}
