#include "archive_fetch/prefetch_spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <unordered_set>

#include "archive/checked_reader.h"
#include "archive/spool_layout.h"
#include "archive_fetch/cluster_guard.h"
#include "archive_fetch/prefetch_plan.h"
#include "archive_fetch/temp_file.h"
#include "base/durable_file.h"
#include "base/error.h"
#include "base/file_identity.h"
#include "base/spool_dir.h"
#include "wal/wal_page_header.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLockName = "lock";
constexpr std::string_view kOkSuffix = kPrefetchOkSuffix;
constexpr std::string_view kNotePrefix = kPrefetchNotePrefix;
// A note is at most four fields of kMaxDamageNoteField bytes; anything longer is not one.
constexpr std::size_t kMaxNoteBytes = 4 * (kMaxDamageNoteField + 8);

// Every name in the directory `dir_fd` (none if it cannot be read, or if dir_fd is -1).
std::vector<std::string> list_names(int dir_fd, const std::string& dir) {
    std::vector<std::string> names;
    if (dir_fd < 0) return names;
    try {
        for (DirEntry& entry : list_dir(dir_fd, dir)) names.push_back(std::move(entry.name));
    } catch (const Error&) {
        names.clear();
    }
    return names;
}

std::vector<std::string> note_names(int dir_fd, const std::string& dir) {
    std::vector<std::string> names = list_names(dir_fd, dir);
    std::erase_if(names, [](const std::string& n) { return !n.starts_with(kNotePrefix); });
    std::sort(names.begin(), names.end());
    return names;
}

// Up to kMaxNoteBytes + 1 bytes of `name` in `dir_fd` (one more than a note can hold, to tell a
// longer file); empty if it cannot be opened or read.
std::string read_small(int dir_fd, const std::string& name) {
    if (dir_fd < 0) return {};
    UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) return {};
    try {
        return read_all(fd.get(), name, kMaxNoteBytes);
    } catch (const Error&) {
        return {};
    }
}

// Writes `text` to `name` in `dir_fd` (`dir` in messages) durably and whole or not at all.
void write_small_file(int dir_fd, const std::string& dir, const std::string& name,
                      std::string_view text) {
    write_file_durably(dir_fd, dir, name, temp_name_next_to("." + name), text, Publish::kReplace);
}

// Copies the open file `fd` (`from`, for messages) to `target` through a temporary file next to it.
void copy_to(int fd, const std::string& from, const std::string& target) {
    TempFile temp(AT_FDCWD, "", temp_name_next_to(target));
    std::vector<std::uint8_t> buffer(1 << 20);
    for (off_t offset = 0;;) {
        std::size_t n = pread_full(fd, buffer, offset, from);
        if (n == 0) break;
        temp.write(std::span(buffer.data(), n));
        offset += static_cast<off_t>(n);
    }
    temp.publish(target, Publish::kReplace);
}

// An .ok record: "<identity> <system identifier>\n".
struct OkRecord {
    FileIdentity identity;
    std::uint64_t sysid = 0;
};

std::string format_ok(const FileIdentity& id, std::uint64_t sysid) {
    return format_identity(id) + " " + std::to_string(sysid) + "\n";
}

std::optional<OkRecord> parse_ok(std::string_view text) {
    if (!text.ends_with('\n')) return std::nullopt;
    text.remove_suffix(1);
    std::size_t space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    OkRecord record;
    std::optional<FileIdentity> id = parse_identity(text.substr(0, space));
    std::string_view sysid = text.substr(space + 1);
    auto [end, ec] = std::from_chars(sysid.data(), sysid.data() + sysid.size(), record.sysid);
    if (!id || ec != std::errc() || end != sysid.data() + sysid.size()) return std::nullopt;
    record.identity = *id;
    return record;
}

}  // namespace

std::string prefetch_dir(const std::string& target_path, const std::vector<Destination>& sources) {
    // Canonical, so that pg_rewind naming the data directory through a symbolic link (or with
    // "..") finds the spool the server filled.
    std::error_code ec;
    fs::path dir = fs::absolute(fs::path(target_path), ec).lexically_normal().parent_path();
    std::string key = fs::weakly_canonical(dir, ec).string();
    if (ec) key = dir.string();
    for (const Destination& s : sources) key += "\n" + s.location.url();
    // FNV-1a, 64 bits: a name, not a checksum. SHA-256 here cost every call OpenSSL's
    // initialisation, nearly half of a call served from the spool.
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : key) hash = (hash ^ c) * 0x100000001b3ULL;
    char name[17];
    std::snprintf(name, sizeof name, "%016llx", static_cast<unsigned long long>(hash));
    return std::string("prefetch/") + name;
}

PrefetchSpool::PrefetchSpool(std::string root, std::string relative, std::uint64_t sysid)
    : root_(std::move(root)),
      relative_(std::move(relative)),
      dir_(root_ + "/" + relative_),
      sysid_(sysid) {}

int PrefetchSpool::dir_fd(bool create) const {
    if (!dir_fd_) dir_fd_ = open_spool_dir(root_, relative_, create);
    return dir_fd_ ? dir_fd_.get() : -1;
}

void PrefetchSpool::open_existing() {
    dir_fd(false);
}

void PrefetchSpool::close_dir() noexcept {
    dir_fd_.reset();
}

std::string PrefetchSpool::where(const std::string& file) const {
    return dir_ + "/" + file;
}

std::vector<WalName> PrefetchSpool::entries() const {
    std::vector<std::string> files = list_names(dir_fd(false), dir_);
    std::unordered_set<std::string> present(files.begin(), files.end());
    std::vector<WalName> entries;
    for (const std::string& file : files) {
        WalName name;
        if (try_parse_wal_name(file, name) && !name.compressed && name.kind == WalKind::kSegment &&
            present.contains(file + std::string(kOkSuffix))) {
            entries.push_back(name);
        }
    }
    std::sort(entries.begin(), entries.end(), segment_before);
    return entries;
}

RestoreOutcome PrefetchSpool::serve(const WalName& name, const std::string& target_path,
                                    std::uint64_t* seg_size) {
    const std::string file = name.wal_file_name();
    const std::string ok = file + std::string(kOkSuffix);
    const std::string path = where(file);
    auto refuse = [&](const std::string& why) {
        throw Error(ErrorCode::kInvalidContainer,
                    "prefetched \"" + file + "\" in " + dir_ + " is damaged: " + why);
    };
    const int dir = dir_fd(false);
    std::string text = read_small(dir, ok);
    if (text.empty()) return RestoreOutcome::kNotFound;
    std::optional<OkRecord> checked = parse_ok(text);
    if (!checked) refuse("its .ok record is unreadable");
    check_server_cluster(checked->sysid, sysid_, file, "the prefetch spool " + dir_);

    UniqueFd fd(::openat(dir, file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT) return RestoreOutcome::kNotFound;
        throw_io("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode) || identity_from(st) != checked->identity) {
        refuse("changed since the prefetch worker checked it");
    }
    std::vector<std::uint8_t> head(kWalLongHeaderSize);
    head.resize(pread_full(fd.get(), head, 0, path));
    WalPageHeader header;
    try {
        header = parse_wal_page_header(head);
        check_header_matches_name(header, name);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kInvalidWalHeader) throw;
        refuse(e.what());
    }
    if (header.seg_size != static_cast<std::uint64_t>(st.st_size)) {
        refuse(std::to_string(st.st_size) + " bytes, but wal_segment_size is " +
               std::to_string(header.seg_size));
    }
    check_server_cluster(header.sysid, sysid_, file, "the prefetch spool " + dir_);

    if (::renameat(dir, file.c_str(), AT_FDCWD, target_path.c_str()) != 0) {
        if (errno != EXDEV) throw_io("cannot rename to", target_path, errno);
        copy_to(fd.get(), path, target_path);  // the spool is on another file system
        ::unlinkat(dir, file.c_str(), 0);
    }
    ::unlinkat(dir, ok.c_str(), 0);
    if (seg_size) *seg_size = static_cast<std::uint64_t>(st.st_size);
    return RestoreOutcome::kRestored;
}

RestoreOutcome PrefetchSpool::store_from(Store& source, const WalName& name) {
    const int dir = dir_fd(true);
    const std::string file = name.wal_file_name();
    std::optional<TempFile> temp;
    std::optional<ContainerMeta> meta =
        download_checked(source, name, temp, dir, dir_, temp_name_next_to("." + file), sysid_);
    if (!meta) return not_found_in(source);
    temp->sync();
    temp->publish(file, Publish::kReplace);
    // Read after the rename, which changes the ctime: the identity a call will find.
    struct stat st {};
    if (::fstatat(dir, file.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        throw_io("cannot stat", where(file), errno);
    }
    write_small_file(dir, dir_, file + std::string(kOkSuffix),
                     format_ok(identity_from(st), sysid_));
    return RestoreOutcome::kRestored;
}

void PrefetchSpool::remove(const WalName& name) noexcept {
    try {
        const int dir = dir_fd(false);
        if (dir < 0) return;
        const std::string file = name.wal_file_name();
        ::unlinkat(dir, (file + std::string(kOkSuffix)).c_str(), 0);
        ::unlinkat(dir, file.c_str(), 0);
    } catch (...) {
        // A refused directory: nothing in it is ours to remove.
    }
}

void PrefetchSpool::remove_leftovers() noexcept {
    try {
        const int dir = dir_fd(false);
        std::vector<std::string> files = list_names(dir, dir_);
        std::unordered_set<std::string> present(files.begin(), files.end());
        for (const std::string& file : files) {
            WalName name;
            bool leftover = false;
            if (file.starts_with(".")) {
                leftover = file.find(".walferry-tmp.") != std::string::npos;
            } else if (try_parse_wal_name(file, name)) {
                // A stored container (the spool's form before 0.2) or a segment without its .ok.
                leftover = name.compressed || !present.contains(file + std::string(kOkSuffix));
            } else if (file.ends_with(kOkSuffix)) {
                const std::string entry = file.substr(0, file.size() - kOkSuffix.size());
                std::optional<OkRecord> record = parse_ok(read_small(dir, file));
                // An entry of another cluster (or of a walferry that did not record one).
                leftover = !present.contains(entry) || !record || record->sysid != sysid_;
                if (leftover) ::unlinkat(dir, entry.c_str(), 0);
                // Said by the next call, as when a call meets one: the data directory or the
                // archive was rebuilt for another cluster under the same paths.
                if (record && record->sysid != sysid_ && present.contains(entry)) {
                    note_damage(
                        {"the prefetch spool", entry + ".zst", ErrorCode::kForeignCluster,
                         "\"" + entry + "\" in the prefetch spool " + dir_ +
                             " belongs to another cluster: system identifier " +
                             std::to_string(record->sysid) + ", the recovering server's is " +
                             std::to_string(sysid_) + " (global/pg_control); removed"},
                        0);
                }
            }
            if (leftover) ::unlinkat(dir, file.c_str(), 0);
        }
    } catch (...) {
        // Out of memory, or a refused directory: the leftovers stay until the next worker.
    }
}

void PrefetchSpool::note_damage(const DamageNote& note, std::size_t source_index) noexcept {
    try {
        const int dir = dir_fd(false);
        const std::string name =
            std::string(kNotePrefix) + note.file + "." + std::to_string(source_index);
        std::vector<std::string> notes = note_names(dir, dir_);
        if (dir < 0 || (notes.size() >= kMaxDamageNotes &&
                        std::find(notes.begin(), notes.end(), name) == notes.end())) {
            return;
        }
        write_small_file(dir, dir_, name, format_damage_note(note));
    } catch (...) {
        // Only the note is lost: the calls still refuse the copy whenever they meet it.
    }
}

std::vector<DamageNote> PrefetchSpool::take_damage_notes() noexcept {
    std::vector<DamageNote> notes;
    try {
        const int dir = dir_fd(false);
        std::vector<std::string> names = note_names(dir, dir_);
        if (names.size() > kMaxDamageNotes) names.resize(kMaxDamageNotes);
        for (const std::string& name : names) {
            std::optional<DamageNote> note = parse_damage_note(read_small(dir, name));
            if (::unlinkat(dir, name.c_str(), 0) == 0 && note) notes.push_back(std::move(*note));
        }
    } catch (...) {
        // Out of memory, or a refused directory: the notes not taken are printed later.
    }
    return notes;
}

UniqueFd PrefetchSpool::try_lock() {
    const int dir = dir_fd(true);
    const std::string name(kLockName);
    UniqueFd fd(::openat(dir, name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw_io("cannot open", where(name), errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return {};
        throw_io("cannot lock", where(name), errno);
    }
    return fd;
}

}  // namespace walferry
