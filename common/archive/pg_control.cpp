#include "archive/pg_control.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/unique_fd.h"

namespace walferry {

namespace {

// The smallest ControlFileData of any PostgreSQL version walferry knows is far larger.
constexpr std::size_t kMinCrcOffset = 64;
constexpr int kReads = 3;

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78U : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

std::uint32_t crc_step(std::uint32_t crc, std::uint8_t byte) noexcept {
    return kCrcTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
}

// Up to kPgControlFileSize + 1 bytes of `path`; nullopt if it does not exist.
std::optional<std::vector<std::uint8_t>> read_head(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw_io("cannot open", path, errno);
    }
    std::vector<std::uint8_t> bytes(kPgControlFileSize + 1);
    bytes.resize(read_full(fd.get(), bytes, path));
    return bytes;
}

}  // namespace

std::uint32_t crc32c(std::span<const std::uint8_t> bytes) noexcept {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (std::uint8_t b : bytes) crc = crc_step(crc, b);
    return crc ^ 0xFFFFFFFFU;
}

std::uint64_t parse_pg_control_sysid(std::span<const std::uint8_t> bytes,
                                     const std::string& where) {
    auto damaged = [&](const std::string& why) {
        throw Error(ErrorCode::kIo, "\"" + where + "\" is not a valid pg_control file: " + why);
    };
    if (bytes.size() > kPgControlFileSize) {
        damaged("larger than " + std::to_string(kPgControlFileSize) + " bytes");
    }
    std::uint32_t crc = 0xFFFFFFFFU;
    bool found = false;
    for (std::size_t off = 0; off + 4 <= bytes.size() && !found; ++off) {
        if (off >= kMinCrcOffset && off % 4 == 0) {
            std::uint32_t stored;
            std::memcpy(&stored, bytes.data() + off, sizeof stored);
            found = (crc ^ 0xFFFFFFFFU) == stored;
        }
        crc = crc_step(crc, bytes[off]);
    }
    if (!found) damaged("no CRC matches its content");
    std::uint64_t sysid;
    std::memcpy(&sysid, bytes.data(), sizeof sysid);
    if (sysid == 0) damaged("system identifier 0");
    return sysid;
}

std::optional<std::uint64_t> read_pg_control_sysid(const std::string& data_dir) {
    const std::string path = data_dir + "/global/pg_control";
    for (int attempt = 1;; ++attempt) {
        std::optional<std::vector<std::uint8_t>> bytes = read_head(path);
        if (!bytes) return std::nullopt;
        try {
            return parse_pg_control_sysid(*bytes, path);
        } catch (const Error&) {
            if (attempt >= kReads) throw;
        }
    }
}

}  // namespace walferry
