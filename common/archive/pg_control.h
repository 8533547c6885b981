// global/pg_control: which cluster a data directory holds. Only what fetch needs of it: the
// system identifier (the first uint64 of ControlFileData, host byte order), trusted once the
// file's CRC-32C matches.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace walferry {

// PG_CONTROL_FILE_SIZE: what PostgreSQL writes, ControlFileData padded with zeros.
inline constexpr std::size_t kPgControlFileSize = 8192;

// CRC-32C (Castagnoli), as PostgreSQL's INIT_CRC32C / COMP_CRC32C / FIN_CRC32C compute it.
std::uint32_t crc32c(std::span<const std::uint8_t> bytes) noexcept;

// The system identifier in the content of a pg_control file. ControlFileData ends with the CRC
// of the bytes before it, and its size differs between PostgreSQL versions: the CRC is looked
// for at every 4-byte boundary (a match by chance has odds of about 2^-21 over the whole file).
// No match, or a file too short or with system identifier 0 -> Error(kIo) naming `where`.
std::uint64_t parse_pg_control_sysid(std::span<const std::uint8_t> bytes, const std::string& where);

// The system identifier in "<data_dir>/global/pg_control"; nullopt if there is no such file.
// Read again a few times if the CRC does not match (the server rewrites the file at every
// checkpoint and restartpoint: one read may see half of a write). Error(kIo) if unreadable or
// damaged.
std::optional<std::uint64_t> read_pg_control_sysid(const std::string& data_dir);

}  // namespace walferry
