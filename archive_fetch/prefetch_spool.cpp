#include "prefetch_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <optional>

#include "checked_reader.h"
#include "error.h"
#include "file_store.h"
#include "prefetch_plan.h"
#include "sha256.h"
#include "spool_dir.h"
#include "temp_file.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLockName = "lock";
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

// Up to kMaxNoteBytes + 1 bytes of `path` (one more than a note can hold, to tell a longer file).
std::string read_note(const std::string& path) {
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
    auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
    return spool + "/prefetch/" + to_hex(sha256(bytes)).substr(0, 16);
}

PrefetchSpool::PrefetchSpool(std::string dir) : dir_(std::move(dir)) {}

std::string PrefetchSpool::entry_path(const WalName& name) const {
    return dir_ + "/" + name.archive_file_name();
}

std::vector<WalName> PrefetchSpool::entries() const {
    std::vector<WalName> entries;
    for (const std::string& file : list_names(dir_)) {
        WalName name;
        if (try_parse_wal_name(file, name) && name.compressed && name.kind == WalKind::kSegment) {
            name.compressed = false;
            entries.push_back(name);
        }
    }
    std::sort(entries.begin(), entries.end(), segment_before);
    return entries;
}

RestoreOutcome PrefetchSpool::serve(const WalName& name, const std::string& target_path,
                                    std::uint64_t* seg_size) {
    FileStore store(dir_);
    return restore_file(store, name, target_path, seg_size);
}

RestoreOutcome PrefetchSpool::store_from(Store& source, const WalName& name) {
    const std::string final_path = entry_path(name);
    std::optional<TempFile> temp;
    // The decompressed bytes are only checked here; the spool keeps the stored form.
    CheckedReader reader(name, source.describe(), [](std::span<const std::uint8_t>) {});
    bool found = source.get(name.archive_file_name(), [&](std::span<const std::uint8_t> chunk) {
        if (!temp) temp.emplace(dir_ + "/." + name.archive_file_name());
        temp->write(chunk);
        reader.feed(chunk);
    });
    if (!found) return RestoreOutcome::kNotFound;
    reader.finish();
    temp->sync();
    temp->commit(final_path);
    fsync_dir(dir_);
    return RestoreOutcome::kRestored;
}

void PrefetchSpool::remove(const WalName& name) noexcept {
    ::unlink(entry_path(name).c_str());
}

void PrefetchSpool::remove_temps() noexcept {
    for (const std::string& file : list_names(dir_)) {
        if (file.starts_with(".") && file.find(".walferry-tmp.") != std::string::npos) {
            ::unlink((dir_ + "/" + file).c_str());
        }
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
        std::string text = format_damage_note(note);
        TempFile temp(dir_ + "/." + name);
        temp.write(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
        temp.sync();
        temp.commit(dir_ + "/" + name);
        fsync_dir(dir_);
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
            std::optional<DamageNote> note = parse_damage_note(read_note(path));
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
