#include "archive_push/wal_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/unique_fd.h"
#include "wal/timeline_history.h"
#include "wal/wal_page_header.h"

namespace walferry {

namespace {

// A segment is fed to the writer in pieces this large, which it cuts into frames for several
// threads.
constexpr std::size_t kPiece = std::size_t{16} << 20;
// From this size on the file is mapped rather than read: the page cache's own pages, neither
// copied (read() costs a copy of 16 MiB) nor backed by fresh zeroed memory (4,096 page faults).
constexpr std::size_t kMapMin = std::size_t{4} << 20;
constexpr std::size_t kReadMin = std::size_t{64} << 10;  // a .history grown since stat, say

// The file mapped read-only and populated at once; nothing mapped if mmap fails (read instead).
// PostgreSQL never truncates a segment it hands to archive_command; should someone else, reading
// past the new end kills the call with SIGBUS, which PostgreSQL takes for a failed call.
class MappedFile {
  public:
    MappedFile(int fd, std::size_t size) : size_(size) {
        void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) data_ = static_cast<const std::uint8_t*>(p);
    }
    ~MappedFile() {
        if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    std::span<const std::uint8_t> bytes() const { return {data_, data_ ? size_ : 0}; }

  private:
    const std::uint8_t* data_ = nullptr;
    std::size_t size_;
};

// Calls consume(piece) for the file's bytes in order, pieces of at most kPiece, until the end
// of the file (a large one: the size `st` gave, checked again after).
template <typename Consume>
void for_each_piece(int fd, const std::string& path, const struct stat& st, Consume consume) {
    const auto size = static_cast<std::size_t>(st.st_size);
    if (size >= kMapMin) {
        MappedFile map(fd, size);
        if (std::span<const std::uint8_t> all = map.bytes(); !all.empty()) {
            for (std::size_t at = 0; at < size; at += kPiece)
                consume(all.subspan(at, std::min(kPiece, size - at)));
            struct stat now {};
            if (::fstat(fd, &now) != 0) throw_io("cannot stat", path, errno);
            if (now.st_size != st.st_size)
                throw Error(ErrorCode::kIo, "\"" + path + "\" changed size while being read");
            return;
        }
    }
    // Uninitialised: the read fills it, no page is touched twice.
    const std::size_t piece = std::clamp(size + 1, kReadMin, kPiece);
    std::unique_ptr<std::uint8_t[]> storage(new std::uint8_t[piece]);
    std::span<std::uint8_t> buf(storage.get(), piece);
    while (std::size_t n = read_full(fd, buf, path)) consume(buf.first(n));
}

std::string_view base_name(std::string_view path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

void check_segment(const std::string& path, const WalName& name, std::span<const std::uint8_t> head,
                   std::uint64_t file_size, PreparedWal& out, ContainerMeta& meta) {
    WalPageHeader header;
    try {
        header = parse_wal_page_header(head);
        check_header_matches_name(header, name);
    } catch (const Error& e) {
        throw Error(e.code(), "\"" + path + "\": " + e.what());
    }
    if (file_size != header.seg_size) {
        throw Error(ErrorCode::kInvalidWalHeader,
                    "\"" + path + "\" has " + std::to_string(file_size) +
                        " bytes but its header says wal_segment_size is " +
                        std::to_string(header.seg_size));
    }
    out.cluster = cluster_of(header);
    meta.sysid = header.sysid;
    meta.tli = header.tli;
    meta.pg_major = header.pg_major;
    if (!header.verified()) meta.wal_magic = header.magic;
}

std::string_view file_type(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "of an unknown type";
}

void check_regular(const std::string& path, const struct stat& st) {
    if (!S_ISREG(st.st_mode)) {
        throw Error(ErrorCode::kIo, "\"" + path + "\" is not a regular file but " +
                                        std::string(file_type(st.st_mode)));
    }
}

}  // namespace

WalName wal_name_of(const std::string& path) {
    WalName name = parse_wal_name(base_name(path));
    if (name.compressed) {
        throw Error(ErrorCode::kInvalidName,
                    "\"" + path + "\" is an archived file name (.zst), not a WAL file from pg_wal");
    }
    return name;
}

UniqueFd open_regular_file(const std::string& path, struct stat& st) {
    // Looked at before it is opened: opening a device may act on it (a tape rewinds).
    if (::stat(path.c_str(), &st) != 0) throw_io("cannot open", path, errno);
    check_regular(path, st);
    // O_NONBLOCK: should a FIFO take the file's place meanwhile, opening it would otherwise wait
    // for a writer, forever. fstat then checks what was opened.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) throw_io("cannot open", path, errno);
    if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat", path, errno);
    check_regular(path, st);
    int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
        throw_io("cannot set flags of", path, errno);
    return fd;
}

PreparedWal prepare_wal_file(const std::string& path, const CompressOptions& options) {
    PreparedWal out;
    out.name = wal_name_of(path);
    struct stat st {};
    UniqueFd fd = open_regular_file(path, st);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

    ContainerMeta meta;
    meta.name = out.name.wal_file_name();
    CompressOptions sized = options;
    sized.size_hint = static_cast<std::uint64_t>(st.st_size);
    ContainerWriter writer(sized);
    std::string small_text;  // of a .history or .backup, up to what check_small_wal_file reads
    bool first = true;
    for_each_piece(fd.get(), path, st, [&](std::span<const std::uint8_t> chunk) {
        if (first && out.name.has_wal_pages()) {
            check_segment(path, out.name, chunk, static_cast<std::uint64_t>(st.st_size), out, meta);
        }
        first = false;
        if (!out.name.has_wal_pages() && small_text.size() <= kMaxSmallWalFileSize)
            small_text.append(chunk.begin(), chunk.end());
        writer.feed(chunk);
    });
    if (first && out.name.has_wal_pages()) {
        throw Error(ErrorCode::kInvalidWalHeader, "\"" + path + "\" is empty");
    }
    out.file = writer.finish(std::move(meta));
    if (!out.name.has_wal_pages()) {
        try {
            check_small_wal_file(out.name, out.file.meta.raw_size, small_text);
        } catch (const Error& e) {
            throw Error(e.code(), "\"" + path + "\": " + e.what());
        }
    }
    if (out.name.has_wal_pages() && out.file.meta.raw_size != out.cluster->seg_size) {
        throw Error(ErrorCode::kIo, "\"" + path + "\" changed size while being read");
    }
    struct stat after {};
    if (::fstat(fd.get(), &after) == 0 && identity_from(after) == identity_from(st) &&
        static_cast<std::uint64_t>(st.st_size) == out.file.meta.raw_size) {
        out.identity = identity_from(st);
    }
    return out;
}

}  // namespace walferry
