#include "restore_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <vector>

#include "container.h"
#include "error.h"
#include "escape.h"
#include "wal_page_header.h"
#include "unique_fd.h"

namespace walferry {

namespace {

// A mkstemp file that is unlinked unless commit() renamed it into place.
class TempFile {
public:
    explicit TempFile(const std::string& target) : path_(target + ".walferry-tmp.XXXXXX") {
        fd_.reset(::mkostemp(path_.data(), O_CLOEXEC));
        if (!fd_) throw_io("cannot create temporary file", path_, errno);
    }
    ~TempFile() {
        if (!committed_) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(std::span<const std::uint8_t> bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_io("cannot write", path_, errno);
            }
            bytes = bytes.subspan(static_cast<std::size_t>(n));
        }
    }

    void commit(const std::string& target) {
        if (::close(fd_.release()) != 0) throw_io("cannot write", path_, errno);
        if (::rename(path_.c_str(), target.c_str()) != 0) throw_io("cannot rename to", target, errno);
        committed_ = true;
    }

private:
    std::string path_;
    UniqueFd fd_;
    bool committed_ = false;
};

}  // namespace

RestoreOutcome restore_file(Store& store, const WalName& name, const std::string& target_path) {
    const std::string stored_name = name.archive_file_name();
    // Made at the first byte: "not found", the common answer, creates and removes nothing.
    std::optional<TempFile> temp;
    std::vector<std::uint8_t> head;  // the first page header, checked once all is verified
    auto sink = [&](std::span<const std::uint8_t> bytes) {
        if (head.size() < kWalLongHeaderSize) {
            std::size_t take = std::min(bytes.size(), kWalLongHeaderSize - head.size());
            head.insert(head.end(), bytes.begin(), bytes.begin() + static_cast<long>(take));
        }
        if (!temp) temp.emplace(target_path);
        temp->write(bytes);
    };
    // Also made when the first bytes arrive: its SHA-256 context initialises OpenSSL, a
    // millisecond or two that a not-found answer need not pay.
    std::optional<ContainerReader> reader;
    // Every complaint about the stored bytes names the copy: with several sources, the operator
    // must learn which one is damaged even when another one served the file.
    auto damaged_as = [&](ErrorCode code, const std::string& why) {
        return Error(code,
                     "\"" + stored_name + "\" in " + store.describe() + " is damaged: " + why);
    };
    auto damaged = [&](const std::string& why) {
        return damaged_as(ErrorCode::kInvalidContainer, why);
    };
    auto is_damage = [](ErrorCode code) {
        return code == ErrorCode::kInvalidContainer || code == ErrorCode::kChecksumMismatch;
    };
    bool found = store.get(stored_name, [&](std::span<const std::uint8_t> chunk) {
        try {
            if (!reader) reader.emplace(sink);
            reader->feed(chunk);
        } catch (const Error& e) {
            if (!is_damage(e.code())) throw;
            throw damaged_as(e.code(), e.what());
        }
    });
    if (!found) return RestoreOutcome::kNotFound;
    if (!reader) reader.emplace(sink);  // an empty stored file: finish() calls it truncated
    ContainerMeta meta;
    try {
        meta = reader->finish();
    } catch (const Error& e) {
        if (!is_damage(e.code())) throw;
        throw damaged_as(e.code(), e.what());
    }
    if (meta.name != name.wal_file_name()) {
        throw damaged("holds \"" + escape_bytes(meta.name) + "\", not \"" + name.wal_file_name() +
                      "\"");
    }
    if (name.has_wal_pages()) {
        // The checksum proves these are the bytes that were pushed; the header proves they are a
        // whole segment of the size the cluster uses.
        WalPageHeader header;
        try {
            header = parse_wal_page_header(head);
            check_header_matches_name(header, name);
        } catch (const Error& e) {
            throw damaged(e.what());
        }
        if (header.seg_size != meta.raw_size) {
            throw damaged(std::to_string(meta.raw_size) + " bytes, but wal_segment_size is " +
                          std::to_string(header.seg_size));
        }
        // The metadata frame has no checksum of its own; push and cleanup trust its cluster
        // fields, so a flipped bit there is damage even though the WAL bytes verified.
        if (meta.sysid != header.sysid || meta.tli != header.tli ||
            meta.pg_major != header.pg_major) {
            throw damaged("metadata says system identifier " + std::to_string(meta.sysid) +
                          ", timeline " + std::to_string(meta.tli) + ", PostgreSQL " +
                          std::to_string(meta.pg_major) + " but the WAL page header says " +
                          std::to_string(header.sysid) + ", " + std::to_string(header.tli) +
                          ", " + std::to_string(header.pg_major));
        }
    }
    if (!temp) throw damaged("empty");
    temp->commit(target_path);
    return RestoreOutcome::kRestored;
}

}  // namespace walferry
