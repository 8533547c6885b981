#include "batch.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <sstream>

#include "error.h"
#include "escape.h"
#include "unique_fd.h"

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
    std::string text = "walferry-batch-marker=1\nname=" + marker.name +
                       "\nsize=" + std::to_string(marker.size) +
                       "\nsha256=" + to_hex(marker.sha256) + "\n";
    for (const auto& d : marker.destinations) text += "destination=" + d + "\n";
    if (const auto& id = marker.identity) {
        text += "identity=" + format_identity(*id) + "\n";
    }
    return text;
}

BatchMarker parse_marker(std::string_view text) {
    BatchMarker m;
    std::istringstream in{std::string(text)};
    std::string line;
    bool header = false, has_size = false, has_sha = false;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) {
            throw Error(ErrorCode::kInvalidState,
                        "batch marker line without '=': \"" + escape_bytes(line, 80) + "\"");
        }
        std::string key = line.substr(0, eq), value = line.substr(eq + 1);
        try {
            if (key == "walferry-batch-marker" && value == "1")
                header = true;
            else if (key == "name")
                m.name = value;
            else if (key == "size")
                m.size = std::stoull(value), has_size = true;
            else if (key == "sha256")
                m.sha256 = digest_from_hex(value), has_sha = true;
            else if (key == "destination")
                m.destinations.push_back(value);
            else if (key == "identity")
                m.identity = parse_identity(value).value();
        } catch (const std::exception&) {
            throw Error(ErrorCode::kInvalidState, "batch marker: bad " + key);
        }
    }
    if (!header || m.name.empty() || !has_size || !has_sha) {
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

bool marker_covers(const BatchMarker& marker, const std::vector<std::string>& destinations,
                   std::optional<int> required) {
    int held = 0;
    for (const auto& d : destinations) {
        if (std::find(marker.destinations.begin(), marker.destinations.end(), d) !=
            marker.destinations.end()) {
            ++held;
        }
    }
    int need = static_cast<int>(destinations.size());
    if (required) need = std::min(need, *required);
    return !destinations.empty() && held >= need;
}

bool marker_matches_file(const BatchMarker& marker, const std::string& path) {
    if (marker.identity && identity_of(path) == marker.identity && marker.identity->size == marker.size)
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
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) break;
        hash.update(std::span(buf.data(), static_cast<std::size_t>(n)));
        size += static_cast<std::uint64_t>(n);
    }
    return std::make_pair(size, hash.finish());
}

}  // namespace walferry
