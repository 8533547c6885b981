#include "archive_push/backlog.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "archive_push/publish.h"

namespace walferry {

namespace {

constexpr std::size_t kSeqDigits = 20;

// Next to an entry: the path of the WAL file it was made from, for a damaged entry.
constexpr std::string_view kSourceSuffix = ".source";
// A damaged entry whose file was sent from pg_wal instead is kept under this prefix.
constexpr std::string_view kDamagedPrefix = "damaged-";

// True for "<20 digits>.<something>.zst".
bool is_entry_name(std::string_view name) {
    if (name.size() <= kSeqDigits + 1 || name[kSeqDigits] != '.' || !name.ends_with(".zst"))
        return false;
    return std::all_of(name.begin(), name.begin() + kSeqDigits,
                       [](char c) { return c >= '0' && c <= '9'; });
}

std::string source_name(const std::string& entry) {
    return entry + std::string(kSourceSuffix);
}

std::vector<std::uint8_t> read_all(Store& queue, const std::string& name, bool& found) {
    std::vector<std::uint8_t> bytes;
    found = queue.get(name, [&](std::span<const std::uint8_t> chunk) {
        bytes.insert(bytes.end(), chunk.begin(), chunk.end());
    });
    return bytes;
}

// The entry and its source record, the record first: an entry is never left without one.
void remove_entry(Store& queue, const std::string& entry) {
    queue.remove(source_name(entry));
    queue.remove(entry);
}

}  // namespace

bool is_refusal(ErrorCode code) {
    return code == ErrorCode::kConflict || code == ErrorCode::kForeignCluster ||
           code == ErrorCode::kInvalidContainer || code == ErrorCode::kChecksumMismatch ||
           code == ErrorCode::kInvalidState || code == ErrorCode::kInvalidName;
}

std::string backlog_entry_name(std::uint64_t seq, const WalName& name) {
    char digits[kSeqDigits + 1];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
    return std::string(digits) + "." + name.archive_file_name();
}

std::vector<std::string> backlog_entries(Store& queue) {
    std::vector<std::string> names;
    for (auto& name : queue.list()) {
        if (is_entry_name(name)) names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::uint64_t backlog_bytes(Store& queue) {
    std::uint64_t total = 0;
    for (const auto& entry : backlog_entries(queue)) {
        if (auto st = queue.stat(entry, 0)) total += st->size;
    }
    return total;
}

void add_to_backlog(Store& queue, const PreparedWal& wal, std::uint64_t seq,
                    const std::string& source) {
    const std::span<const std::uint8_t> parts[] = {wal.file.meta_frame, wal.file.payload};
    // A name taken already (same sequence and file): try the next sequence numbers.
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const std::string entry =
            backlog_entry_name(seq + static_cast<std::uint64_t>(attempt), wal.name);
        if (!queue.put(entry, parts)) continue;
        if (source.empty()) return;
        // Best effort: without it a damaged entry cannot be replaced by the WAL file.
        const std::span<const std::uint8_t> text[] = {
            {reinterpret_cast<const std::uint8_t*>(source.data()), source.size()}};
        try {
            queue.remove(source_name(entry));  // a stale one of a removed entry
            queue.put(source_name(entry), text);
        } catch (const Error&) {
        }
        return;
    }
    throw Error(ErrorCode::kInternal, "no free backlog name for \"" + wal.name.wal_file_name() +
                                          "\" in " + queue.describe());
}

std::optional<PreparedWal> read_backlog_entry(Store& queue, const std::string& entry) {
    bool found = false;
    std::vector<std::uint8_t> bytes = read_all(queue, entry, found);
    const std::string where = "backlog entry \"" + entry + "\" in " + queue.describe();
    if (!found) return std::nullopt;
    PreparedWal wal;
    try {
        std::size_t frame_size = 0;
        wal.file.meta = decode_meta_frame(bytes, frame_size);
        wal.name = parse_wal_name(wal.file.meta.name);
        // What the destination would store, checked as fetch will check it: decompressed, size
        // and SHA-256 against the metadata. One decompression per entry, on the rare drain path;
        // a spool disk that flipped a bit must not hand the destination its only copy damaged.
        ContainerReader check([](std::span<const std::uint8_t>) {});
        check.feed(bytes);
        check.finish();
        wal.file.meta_frame.assign(bytes.begin(), bytes.begin() + static_cast<long>(frame_size));
        wal.file.payload.assign(bytes.begin() + static_cast<long>(frame_size), bytes.end());
    } catch (const Error& e) {
        throw Error(ErrorCode::kInvalidState, where + " is damaged: " + e.what());
    }
    if (entry.substr(kSeqDigits + 1) != wal.name.archive_file_name()) {
        throw Error(ErrorCode::kInvalidState,
                    where + " holds \"" + wal.file.meta.name + "\", not what its name says");
    }
    if (wal.name.has_wal_pages()) wal.cluster = cluster_of(wal.file.meta);
    return wal;
}

namespace {

// A damaged entry is never published. If the WAL file it was made from is still where it was
// queued from (pg_wal) with the size and SHA-256 the entry's metadata records, that file is sent
// instead and the entry set aside as "damaged-<entry>"; otherwise the entry stays queued. Returns
// the report and whether the file was sent; throws what publishing throws.
std::pair<Error, bool> replace_damaged(Store& queue, const std::string& entry, const Error& damage,
                                       Publisher& publisher, const CompressOptions& compress) {
    auto report = [&](const std::string& what, bool sent) {
        return std::make_pair(
            Error(ErrorCode::kInvalidState, std::string(damage.what()) + "; " + what), sent);
    };
    std::optional<ContainerMeta> meta;
    try {
        if (auto st = queue.stat(entry, kMetaReadSize)) {
            std::size_t frame_size = 0;
            meta = decode_meta_frame(st->head, frame_size);
        }
    } catch (const Error&) {
    }
    if (!meta)
        return report("kept: its metadata cannot be read, so no WAL file can stand in", false);
    bool found = false;
    std::vector<std::uint8_t> source_bytes = read_all(queue, source_name(entry), found);
    const std::string source(source_bytes.begin(), source_bytes.end());
    if (!found || source.empty())
        return report("kept: where the WAL file came from was not recorded", false);
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0)
        return report("kept: \"" + source + "\" is gone, so the destination lacks it", false);
    PreparedWal fresh;
    try {
        fresh = prepare_wal_file(source, compress);
    } catch (const Error& e) {
        return report("kept: \"" + source + "\" cannot stand in: " + e.what(), false);
    }
    if (fresh.file.meta.name != meta->name || fresh.file.meta.raw_size != meta->raw_size ||
        fresh.file.meta.sha256 != meta->sha256) {
        return report("kept: \"" + source + "\" is not the file that was queued (sha256 " +
                          to_hex(fresh.file.meta.sha256) + ", queued " + to_hex(meta->sha256) + ")",
                      false);
    }
    publisher.publish(fresh);
    std::vector<std::uint8_t> bytes = read_all(queue, entry, found);
    const std::span<const std::uint8_t> parts[] = {bytes};
    const std::string aside = std::string(kDamagedPrefix) + entry;
    if (found) queue.put(aside, parts);  // false: a concurrent drain set it aside first
    remove_entry(queue, entry);
    return report("\"" + meta->name + "\" sent from \"" + source +
                      "\" instead; the entry is kept as \"" + aside + "\"",
                  true);
}

}  // namespace

DrainResult drain_backlog(Store& queue, Store& destination, const CompressOptions& compress) {
    DrainResult result;
    std::vector<std::string> entries;
    try {
        entries = backlog_entries(queue);
    } catch (const Error& e) {
        result.failure = e;
        return result;
    }
    Publisher publisher(destination);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string& entry = entries[i];
        try {
            std::optional<PreparedWal> wal;
            try {
                wal = read_backlog_entry(queue, entry);
            } catch (const Error& damage) {
                if (damage.code() != ErrorCode::kInvalidState) throw;
                auto [report, sent] = replace_damaged(queue, entry, damage, publisher, compress);
                result.refused.push_back(report);
                ++(sent ? result.sent : result.left);
                continue;
            }
            if (!wal) {
                ++result.taken;
                continue;
            }
            publisher.publish(*wal);
            // Durably in the destination (stored now or identical already): only now removed.
            remove_entry(queue, entry);
            ++result.sent;
        } catch (const Error& e) {
            if (is_refusal(e.code())) {
                result.refused.emplace_back(e.code(),
                                            "backlog entry \"" + entry + "\" kept: " + e.what());
                ++result.left;
                continue;
            }
            result.failure = e;
            result.left += static_cast<int>(entries.size() - i);
            return result;
        }
    }
    return result;
}

}  // namespace walferry
