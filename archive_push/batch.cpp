#include "archive_push/batch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <sstream>

#include "archive/container.h"
#include "base/durable_file.h"
#include "base/error.h"
#include "base/escape.h"
#include "base/unique_fd.h"
#include "cli/open_store.h"

namespace walferry {

namespace fs = std::filesystem;

std::vector<WalName> look_ahead(const WalName& current, std::uint64_t seg_size,
                                const std::set<std::string>& ready, int limit) {
    std::vector<WalName> out;
    if (current.kind != WalKind::kSegment) return out;
    WalName name = current;
    while (static_cast<int>(out.size()) < limit) {
        try {
            name = next_segment(name, seg_size);
        } catch (const Error&) {
            break;
        }
        if (!ready.contains(name.wal_file_name())) break;
        out.push_back(name);
    }
    return out;
}

std::set<std::string> ready_names(const std::string& wal_path) {
    std::set<std::string> names;
    std::error_code ec;
    fs::path wal_dir = fs::absolute(fs::path(wal_path), ec).lexically_normal().parent_path();
    if (ec || wal_path.empty() || wal_dir.filename() != "pg_wal") return names;
    for (const auto& e : fs::directory_iterator(wal_dir / "archive_status", ec)) {
        std::string file = e.path().filename().string();
        if (file.size() > 6 && file.ends_with(".ready"))
            names.insert(file.substr(0, file.size() - 6));
    }
    return names;
}

std::string format_marker(const BatchMarker& marker) {
    auto one_line = [&](const std::string& value) -> const std::string& {
        if (value.find('\n') == std::string::npos) return value;
        throw Error(ErrorCode::kInvalidState, "batch marker for \"" +
                                                  escape_bytes(marker.name, 80) +
                                                  "\": a name or URL holds a line break");
    };
    std::string text = "walferry-batch-marker=2\nname=" + one_line(marker.name) +
                       "\nsize=" + std::to_string(marker.size) +
                       "\nsha256=" + to_hex(marker.sha256) +
                       "\nwritten=" + std::to_string(marker.written) + "\n";
    // Each url line belongs to the destination line before it.
    for (const auto& d : marker.destinations)
        text += "destination=" + one_line(d.name) + "\nurl=" + one_line(d.url) + "\n";
    if (const auto& id = marker.identity) {
        text += "identity=" + format_identity(*id) + "\n";
    }
    return text;
}

BatchMarker parse_marker(std::string_view text) {
    BatchMarker m;
    std::istringstream in{std::string(text)};
    std::string line;
    bool header = false, has_size = false, has_sha = false, has_written = false;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            throw Error(ErrorCode::kInvalidState,
                        "batch marker line without '=': \"" + escape_bytes(line, 80) + "\"");
        }
        std::string key = line.substr(0, eq), value = line.substr(eq + 1);
        try {
            if (key == "walferry-batch-marker" && value == "2")
                header = true;
            else if (key == "name")
                m.name = value;
            else if (key == "size")
                m.size = std::stoull(value), has_size = true;
            else if (key == "sha256")
                m.sha256 = digest_from_hex(value), has_sha = true;
            else if (key == "written")
                m.written = std::stoll(value), has_written = true;
            else if (key == "destination")
                m.destinations.push_back(MarkerHolder{value, {}});
            else if (key == "url" && !m.destinations.empty() && m.destinations.back().url.empty())
                m.destinations.back().url = value;
            else if (key == "identity")
                m.identity = parse_identity(value).value();
        } catch (const std::exception&) {
            throw Error(ErrorCode::kInvalidState, "batch marker: bad " + key);
        }
    }
    bool urls = std::all_of(m.destinations.begin(), m.destinations.end(),
                            [](const MarkerHolder& d) { return !d.url.empty(); });
    if (!header || m.name.empty() || !has_size || !has_sha || !has_written || !urls) {
        throw Error(ErrorCode::kInvalidState, "batch marker is incomplete");
    }
    return m;
}

void write_marker(Store& markers, const BatchMarker& marker) {
    const std::string name = marker_file_name(marker.name);
    const std::string text = format_marker(marker);
    const std::span<const std::uint8_t> parts[] = {
        std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())};
    markers.remove(name);
    if (!markers.put(name, parts)) {
        throw Error(ErrorCode::kInvalidState, "batch marker \"" + name + "\" written concurrently");
    }
}

std::optional<BatchMarker> read_marker(Store& markers, const std::string& wal_name) {
    std::string text;
    try {
        bool found = markers.get(marker_file_name(wal_name), [&](std::span<const std::uint8_t> c) {
            text.append(c.begin(), c.end());
        });
        if (!found) return std::nullopt;
        BatchMarker m = parse_marker(text);
        if (m.name != wal_name) return std::nullopt;
        return m;
    } catch (const Error&) {
        return std::nullopt;
    }
}

namespace {

// For a local archive, whether it still holds the marked file (its metadata: one small read);
// a remote one is taken at its word.
bool still_holds(const Destination& d, const BatchMarker& marker, const StoreOpener& opener) {
    if (d.location.scheme != Location::Scheme::kFile) return true;
    try {
        std::unique_ptr<Store> store = opener(d);
        std::optional<ObjectStat> st =
            store->stat(parse_wal_name(marker.name).archive_file_name(), kMetaReadSize);
        if (!st) return false;
        std::size_t frame_size = 0;
        ContainerMeta meta = decode_meta_frame(st->head, frame_size);
        return meta.name == marker.name && meta.raw_size == marker.size &&
               meta.sha256 == marker.sha256;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace

bool marker_covers(const BatchMarker& marker, const std::vector<Destination>& destinations,
                   std::optional<int> required, std::int64_t now, const StoreOpener& opener) {
    if (now < marker.written || now - marker.written > kMarkerMaxAgeS) return false;
    int held = 0;
    for (const auto& d : destinations) {
        const MarkerHolder holder{d.name, d.location.url()};
        if (std::find(marker.destinations.begin(), marker.destinations.end(), holder) !=
                marker.destinations.end() &&
            still_holds(d, marker, opener)) {
            ++held;
        }
    }
    int need = static_cast<int>(destinations.size());
    if (required) need = std::min(need, *required);
    return !destinations.empty() && held >= need;
}

bool marker_matches_file(const BatchMarker& marker, const std::string& path) {
    if (marker.identity && identity_of(path) == marker.identity &&
        marker.identity->size == marker.size)
        return true;
    auto actual = hash_file(path);
    return actual && actual->first == marker.size && actual->second == marker.sha256;
}

std::optional<std::pair<std::uint64_t, Sha256Digest>> hash_file(const std::string& path) {
    UniqueFd fd;
    try {
        struct stat st {};
        fd = open_regular_file(path, st);  // never waits on a FIFO put in the file's place
    } catch (const Error&) {
        return std::nullopt;
    }
    Sha256 hash;
    std::vector<std::uint8_t> buf(1 << 20);
    std::uint64_t size = 0;
    try {
        while (std::size_t n = read_full(fd.get(), buf, path)) {
            hash.update(std::span(buf.data(), n));
            size += n;
        }
    } catch (const Error&) {
        return std::nullopt;
    }
    return std::make_pair(size, hash.finish());
}

}  // namespace walferry
