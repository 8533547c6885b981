#include "checked_reader.h"

#include <algorithm>

#include "error.h"
#include "escape.h"
#include "wal_page_header.h"

namespace walferry {

bool is_damage(ErrorCode code) noexcept {
    return code == ErrorCode::kInvalidContainer || code == ErrorCode::kChecksumMismatch;
}

CheckedReader::CheckedReader(const WalName& name, std::string where, ContainerReader::Sink out)
    : name_(name),
      stored_name_(name.archive_file_name()),
      where_(std::move(where)),
      out_(std::move(out)),
      limit_(name.has_wal_pages() ? kWalLongHeaderSize : kMaxTextWalFileSize) {}

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
    if (name_.has_wal_pages()) check_pages(meta);
    if (meta.raw_size == 0) damaged(ErrorCode::kInvalidContainer, "empty");
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
    if (meta.sysid != header.sysid || meta.tli != header.tli || meta.pg_major != header.pg_major) {
        damaged(ErrorCode::kInvalidContainer,
                "metadata says system identifier " + std::to_string(meta.sysid) + ", timeline " +
                    std::to_string(meta.tli) + ", PostgreSQL " + std::to_string(meta.pg_major) +
                    " but the WAL page header says " + std::to_string(header.sysid) + ", " +
                    std::to_string(header.tli) + ", " + std::to_string(header.pg_major));
    }
}

}  // namespace walferry
