#include "archive/checked_reader.h"

#include <algorithm>

#include "archive/archive_info.h"
#include "base/error.h"
#include "base/escape.h"
#include "wal/timeline_history.h"
#include "wal/wal_page_header.h"

namespace walferry {

void check_server_cluster(std::uint64_t segment_sysid, std::uint64_t server,
                          const std::string& file, const std::string& where) {
    if (segment_sysid == server) return;
    throw Error(ErrorCode::kForeignCluster,
                "\"" + file + "\" in " + where + " belongs to another cluster: system identifier " +
                    std::to_string(segment_sysid) + ", the recovering server's is " +
                    std::to_string(server) + " (global/pg_control)");
}

bool is_damage(ErrorCode code) noexcept {
    return code == ErrorCode::kInvalidContainer || code == ErrorCode::kChecksumMismatch ||
           code == ErrorCode::kForeignCluster;
}

CheckedReader::CheckedReader(const WalName& name, std::string where, ContainerReader::Sink out,
                             std::optional<std::uint64_t> server_sysid)
    : name_(name),
      stored_name_(name.archive_file_name()),
      where_(std::move(where)),
      out_(std::move(out)),
      server_sysid_(server_sysid),
      limit_(name.has_wal_pages() ? kWalLongHeaderSize : kMaxSmallWalFileSize) {}

// Every complaint about the stored bytes names the copy: with several sources, the operator
// must learn which one is damaged even when another one served the file.
void CheckedReader::damaged(ErrorCode code, const std::string& why) const {
    throw Error(code, "\"" + stored_name_ + "\" in " + where_ + " is damaged: " + why);
}

void CheckedReader::feed(std::span<const std::uint8_t> stored) {
    try {
        if (!reader_) {
            reader_.emplace([this](std::span<const std::uint8_t> bytes) { take(bytes); });
        }
        reader_->feed(stored);
    } catch (const Error& e) {
        if (!is_damage(e.code())) throw;
        damaged(e.code(), e.what());
    }
}

// Decompressed bytes, before they reach `out_`: no more than a file of this kind can hold, so
// that a stored file claiming a huge raw_size (the metadata frame is not authenticated) cannot
// fill the disk next to %p before its checksum fails.
void CheckedReader::take(std::span<const std::uint8_t> bytes) {
    if (head_.size() < kWalLongHeaderSize && name_.has_wal_pages()) {
        std::size_t take = std::min(bytes.size(), kWalLongHeaderSize - head_.size());
        head_.insert(head_.end(), bytes.begin(), bytes.begin() + static_cast<long>(take));
        if (head_.size() == kWalLongHeaderSize) {
            try {
                header_ = parse_wal_page_header(head_);
                check_header_matches_name(*header_, name_);
            } catch (const Error& e) {
                throw Error(ErrorCode::kInvalidContainer, e.what());
            }
            limit_ = header_->seg_size;
        }
    }
    if (bytes.size() > limit_ - written_) {
        throw Error(ErrorCode::kInvalidContainer,
                    "decompresses to more than " + std::to_string(limit_) + " bytes, " +
                        (name_.has_wal_pages() ? "the wal_segment_size in its page header"
                                               : "the most walferry accepts for this file"));
    }
    written_ += bytes.size();
    if (!name_.has_wal_pages()) small_.append(bytes.begin(), bytes.end());
    out_(bytes);
}

ContainerMeta CheckedReader::finish() {
    if (!reader_) feed({});  // an empty stored file: finish() calls it truncated
    ContainerMeta meta;
    try {
        meta = reader_->finish();
    } catch (const Error& e) {
        if (!is_damage(e.code())) throw;
        damaged(e.code(), e.what());
    }
    if (meta.name != name_.wal_file_name()) {
        damaged(ErrorCode::kInvalidContainer,
                "holds \"" + escape_bytes(meta.name) + "\", not \"" + name_.wal_file_name() + "\"");
    }
    if (name_.has_wal_pages()) {
        check_pages(meta);
    } else {
        try {
            check_small_wal_file(name_, meta.raw_size, small_);
        } catch (const Error& e) {
            damaged(ErrorCode::kInvalidContainer, e.what());
        }
    }
    return meta;
}

void CheckedReader::check_pages(const ContainerMeta& meta) const {
    // The checksum proves these are the bytes that were pushed; the header proves they are a
    // whole segment of the size the cluster uses.
    WalPageHeader header;
    try {
        header = header_ ? *header_ : parse_wal_page_header(head_);  // parsed at byte 40
        check_header_matches_name(header, name_);
    } catch (const Error& e) {
        damaged(ErrorCode::kInvalidContainer, e.what());
    }
    if (header.seg_size != meta.raw_size) {
        damaged(ErrorCode::kInvalidContainer, std::to_string(meta.raw_size) +
                                                  " bytes, but wal_segment_size is " +
                                                  std::to_string(header.seg_size));
    }
    // The metadata frame has no checksum of its own; push and cleanup trust its cluster
    // fields, so a flipped bit there is damage even though the WAL bytes verified.
    // A version recorded unverified (pg_major 0 and the magic) may be in this walferry's table.
    const ArchiveInfo recorded = cluster_of(meta);
    const ArchiveInfo read = cluster_of(header);
    if (meta.sysid != header.sysid || meta.tli != header.tli ||
        !same_pg_version(recorded.pg_major, recorded.unverified_magic, read.pg_major,
                         read.unverified_magic)) {
        damaged(ErrorCode::kInvalidContainer,
                "metadata says system identifier " + std::to_string(meta.sysid) + ", timeline " +
                    std::to_string(meta.tli) + ", PostgreSQL " +
                    describe_pg_version(recorded.pg_major, recorded.unverified_magic) +
                    " but the WAL page header says " + std::to_string(header.sysid) + ", " +
                    std::to_string(header.tli) + ", " +
                    describe_pg_version(read.pg_major, read.unverified_magic));
    }
    if (server_sysid_) check_server_cluster(header.sysid, *server_sysid_, stored_name_, where_);
}

}  // namespace walferry
