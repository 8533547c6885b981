#include "prefetch_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_set>

#include "checked_reader.h"
#include "error.h"
#include "file_identity.h"
#include "prefetch_plan.h"
#include "spool_dir.h"
#include "temp_file.h"
#include "wal_page_header.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLockName = "lock";
constexpr std::string_view kOkSuffix = ".ok";
constexpr std::string_view kNotePrefix = "damaged.";
// A note is at most four fields of kMaxDamageNoteField bytes; anything longer is not one.
constexpr std::size_t kMaxNoteBytes = 4 * (kMaxDamageNoteField + 8);

struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
};

// Every name in `dir` (none if it cannot be read).
std::vector<std::string> list_names(const std::string& dir) {
    std::vector<std::string> names;
    std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
    if (!d) return names;
    while (const dirent* e = ::readdir(d.get())) names.emplace_back(e->d_name);
    return names;
}

std::vector<std::string> note_names(const std::string& dir) {
    std::vector<std::string> names = list_names(dir);
    std::erase_if(names, [](const std::string& n) { return !n.starts_with(kNotePrefix); });
    std::sort(names.begin(), names.end());
    return names;
}

// Up to kMaxNoteBytes + 1 bytes of `path` (one more than a note can hold, to tell a longer file);
// empty if it cannot be opened.
std::string read_small(const std::string& path) {
    std::string text;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) return text;
    text.resize(kMaxNoteBytes + 1);
    std::size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    return text;
}

// Writes `text` to "<dir>/<name>" durably and whole or not at all: a temporary file, synced,
// renamed, and the directory synced.
void write_small_file(const std::string& dir, const std::string& name, std::string_view text) {
    TempFile temp(dir + "/." + name);
    temp.write(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    temp.sync();
    temp.commit(dir + "/" + name);
    fsync_dir(dir);
}

// Copies the open file `fd` (`from`, for messages) to `target` through a temporary file next to it.
void copy_to(int fd, const std::string& from, const std::string& target) {
    TempFile temp(target);
    std::vector<std::uint8_t> buffer(1 << 20);
    for (off_t offset = 0;;) {
        ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_io("cannot read", from, errno);
        if (n == 0) break;
        temp.write(std::span(buffer.data(), static_cast<std::size_t>(n)));
        offset += n;
    }
    temp.commit(target);
}

}  // namespace

std::string prefetch_dir(const std::string& spool, const std::string& target_path,
                         const std::vector<Destination>& sources) {
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
    return spool + "/prefetch/" + name;
}

PrefetchSpool::PrefetchSpool(std::string dir) : dir_(std::move(dir)) {}

std::string PrefetchSpool::entry_path(const WalName& name) const {
    return dir_ + "/" + name.wal_file_name();
}

std::string PrefetchSpool::ok_path(const WalName& name) const {
    return entry_path(name) + std::string(kOkSuffix);
}

std::vector<WalName> PrefetchSpool::entries() const {
    std::vector<std::string> files = list_names(dir_);
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
    const std::string path = entry_path(name);
    auto refuse = [&](const std::string& why) {
        throw Error(ErrorCode::kInvalidContainer,
                    "prefetched \"" + name.wal_file_name() + "\" in " + dir_ + " is damaged: " + why);
    };
    std::string record = read_small(ok_path(name));
    if (record.empty()) return RestoreOutcome::kNotFound;
    if (record.back() == '\n') record.pop_back();
    std::optional<FileIdentity> checked = parse_identity(record);
    if (!checked) refuse("its .ok record is unreadable");

    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        if (errno == ENOENT) return RestoreOutcome::kNotFound;
        throw_io("cannot open", path, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_io("cannot stat", path, errno);
    if (!S_ISREG(st.st_mode) || identity_from(st) != *checked) {
        refuse("changed since the prefetch worker checked it");
    }
    std::vector<std::uint8_t> head(kWalLongHeaderSize);
    ssize_t got = ::pread(fd.get(), head.data(), head.size(), 0);
    if (got < 0) throw_io("cannot read", path, errno);
    head.resize(static_cast<std::size_t>(got));
    try {
        WalPageHeader header = parse_wal_page_header(head);
        check_header_matches_name(header, name);
        if (header.seg_size != static_cast<std::uint64_t>(st.st_size)) {
            refuse(std::to_string(st.st_size) + " bytes, but wal_segment_size is " +
                   std::to_string(header.seg_size));
        }
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kInvalidWalHeader) throw;
        refuse(e.what());
    }

    if (::rename(path.c_str(), target_path.c_str()) != 0) {
        if (errno != EXDEV) throw_io("cannot rename to", target_path, errno);
        copy_to(fd.get(), path, target_path);  // the spool is on another file system
        ::unlink(path.c_str());
    }
    ::unlink(ok_path(name).c_str());
    if (seg_size) *seg_size = static_cast<std::uint64_t>(st.st_size);
    return RestoreOutcome::kRestored;
}

RestoreOutcome PrefetchSpool::store_from(Store& source, const WalName& name) {
    const std::string final_path = entry_path(name);
    std::optional<TempFile> temp;
    CheckedReader reader(name, source.describe(), [&](std::span<const std::uint8_t> bytes) {
        if (!temp) temp.emplace(dir_ + "/." + name.wal_file_name());
        temp->write(bytes);
    });
    bool found = source.get(name.archive_file_name(),
                            [&](std::span<const std::uint8_t> chunk) { reader.feed(chunk); });
    if (!found) return not_found_in(source);
    reader.finish();
    temp->sync();
    temp->commit(final_path);
    // Read after the rename, which changes the ctime: the identity a call will find.
    std::optional<FileIdentity> id = identity_of(final_path);
    if (!id) throw_io("cannot stat", final_path, errno);
    write_small_file(dir_, name.wal_file_name() + std::string(kOkSuffix),
                     format_identity(*id) + "\n");
    return RestoreOutcome::kRestored;
}

void PrefetchSpool::remove(const WalName& name) noexcept {
    ::unlink(ok_path(name).c_str());
    ::unlink(entry_path(name).c_str());
}

void PrefetchSpool::remove_leftovers() noexcept {
    try {
        std::vector<std::string> files = list_names(dir_);
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
                leftover = !present.contains(file.substr(0, file.size() - kOkSuffix.size()));
            }
            if (leftover) ::unlink((dir_ + "/" + file).c_str());
        }
    } catch (...) {
        // Out of memory: the leftovers stay until the next worker.
    }
}

void PrefetchSpool::note_damage(const DamageNote& note, std::size_t source_index) noexcept {
    try {
        const std::string name =
            std::string(kNotePrefix) + note.file + "." + std::to_string(source_index);
        std::vector<std::string> notes = note_names(dir_);
        if (notes.size() >= kMaxDamageNotes &&
            std::find(notes.begin(), notes.end(), name) == notes.end()) {
            return;
        }
        write_small_file(dir_, name, format_damage_note(note));
    } catch (...) {
        // Only the note is lost: the calls still refuse the copy whenever they meet it.
    }
}

std::vector<DamageNote> PrefetchSpool::take_damage_notes() noexcept {
    std::vector<DamageNote> notes;
    try {
        std::vector<std::string> names = note_names(dir_);
        if (names.size() > kMaxDamageNotes) names.resize(kMaxDamageNotes);
        for (const std::string& name : names) {
            const std::string path = dir_ + "/" + name;
            std::optional<DamageNote> note = parse_damage_note(read_small(path));
            if (::unlink(path.c_str()) == 0 && note) notes.push_back(std::move(*note));
        }
    } catch (...) {
        // Out of memory: the notes not taken are printed by a later call.
    }
    return notes;
}

UniqueFd PrefetchSpool::try_lock() {
    make_spool_dirs(dir_);
    std::string path = dir_ + "/" + std::string(kLockName);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) throw_io("cannot open", path, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return {};
        throw_io("cannot lock", path, errno);
    }
    return fd;
}

}  // namespace walferry
