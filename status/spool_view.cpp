#include "status/spool_view.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "archive/damage_note.h"
#include "archive/spool_layout.h"

namespace walferry {

namespace fs = std::filesystem;

namespace {

// A backlog entry: "<20 digits>.<archive name>" (archive_push/backlog.h); its ".source" record
// and entries set aside as "damaged-..." are not queued files.
bool is_backlog_entry(const std::string& name) {
    if (name.size() < 22 || name[20] != '.' || !name.ends_with(".zst")) return false;
    for (std::size_t i = 0; i < 20; ++i) {
        if (name[i] < '0' || name[i] > '9') return false;
    }
    return true;
}

// Regular files of `dir` (not through links), none if it is missing or unreadable.
std::vector<fs::directory_entry> files_in(const fs::path& dir) {
    std::vector<fs::directory_entry> out;
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(dir, ec))) return out;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.is_regular_file(ec) && !e.is_symlink(ec)) out.push_back(e);
    }
    return out;
}

std::int64_t mtime_of(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
    return static_cast<std::int64_t>(st.st_mtime);
}

BacklogReport backlog_of(const fs::path& spool, const Destination& d, std::int64_t now) {
    BacklogReport b;
    b.destination = d.name;
    std::int64_t oldest = 0;
    for (const auto& e : files_in(spool / kSpoolBacklogDir / destination_key(d.name))) {
        if (!is_backlog_entry(e.path().filename().string())) continue;
        std::error_code ec;
        ++b.files;
        b.bytes += e.file_size(ec);
        const std::int64_t m = mtime_of(e.path());
        if (oldest == 0 || m < oldest) oldest = m;
    }
    if (b.files > 0) b.oldest_age_seconds = now - oldest;
    return b;
}

void read_prefetch(const fs::path& spool, SpoolReport& r) {
    std::error_code ec;
    const fs::path root = spool / kSpoolPrefetchDir;
    if (!fs::is_directory(fs::symlink_status(root, ec))) return;
    for (const auto& key : fs::directory_iterator(root, ec)) {
        if (!key.is_directory(ec) || key.is_symlink(ec)) continue;
        for (const auto& e : files_in(key.path())) {
            const std::string name = e.path().filename().string();
            if (name.ends_with(kPrefetchOkSuffix)) ++r.prefetch_entries;
            if (!name.starts_with(kPrefetchNotePrefix)) continue;
            std::ifstream in(e.path());
            std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
            if (auto note = parse_damage_note(text)) {
                r.damage_notes.push_back(damage_note_warning(*note));
            }
        }
    }
}

}  // namespace

SpoolReport read_spool(const std::string& dir, const std::vector<Destination>& destinations,
                       std::int64_t now) {
    SpoolReport r;
    r.dir = dir;
    std::error_code ec;
    r.exists = fs::is_directory(fs::symlink_status(dir, ec));
    if (!r.exists) return r;
    const fs::path spool(dir);
    for (const Destination& d : destinations) {
        r.backlogs.push_back(backlog_of(spool, d, now));
        const fs::path note = spool / kSpoolUnreachableDir / destination_key(d.name);
        if (const std::int64_t m = mtime_of(note); m != 0 && now - m < kRetryUnreachableAfterS) {
            r.left_alone.emplace_back(d.name, now - m);
        }
    }
    read_prefetch(spool, r);
    return r;
}

}  // namespace walferry
