#include "cleanup/archive_view.h"

#include "archive/archive_info.h"
#include "archive/container.h"
#include "base/error.h"
#include "wal/lsn.h"
#include "wal/wal_page_header.h"

namespace walferry {

namespace {

constexpr std::uint64_t kDefaultSegmentSize = 16ull << 20;
constexpr std::size_t kMaxHistoryBytes = 1 << 20;

}  // namespace

std::vector<ArchiveEntry> list_archive(Store& store, std::string_view strip_ext) {
    std::vector<ArchiveEntry> out;
    for (std::string& stored : store.list()) {
        ArchiveEntry e;
        std::string_view name = stored;
        if (!strip_ext.empty() && name.size() > strip_ext.size() && name.ends_with(strip_ext)) {
            name.remove_suffix(strip_ext.size());
        }
        e.is_wal = try_parse_wal_name(name, e.name);
        e.stored = std::move(stored);
        out.push_back(std::move(e));
    }
    return out;
}

std::string read_stored_file(Store& store, const ArchiveEntry& entry, std::size_t max_bytes) {
    std::string out;
    auto append = [&](std::span<const std::uint8_t> bytes) {
        if (out.size() + bytes.size() > max_bytes) {
            throw Error(ErrorCode::kInvalidContainer, "\"" + entry.stored + "\" in " +
                                                          store.describe() + " is larger than " +
                                                          std::to_string(max_bytes) + " bytes");
        }
        out.append(bytes.begin(), bytes.end());
    };
    bool found;
    if (entry.name.compressed) {
        ContainerReader reader(append);
        found = store.get(entry.stored, [&](std::span<const std::uint8_t> c) { reader.feed(c); });
        if (found) {
            try {
                reader.finish();
            } catch (const Error& e) {
                throw Error(e.code(),
                            "\"" + entry.stored + "\" in " + store.describe() + ": " + e.what());
            }
        }
    } else {
        found = store.get(entry.stored, append);
    }
    if (!found) {
        throw Error(ErrorCode::kIo, "\"" + entry.stored + "\" vanished from " + store.describe() +
                                        " while being read");
    }
    return out;
}

std::map<std::uint32_t, TimelineHistory> load_histories(Store& store,
                                                        const std::vector<ArchiveEntry>& entries,
                                                        const std::set<std::uint32_t>& timelines) {
    std::map<std::uint32_t, TimelineHistory> out;
    for (const ArchiveEntry& e : entries) {
        if (!e.is_wal || e.name.kind != WalKind::kHistory || !timelines.count(e.name.tli)) continue;
        if (out.count(e.name.tli)) continue;  // stored both plain and compressed: first wins
        std::string text = read_stored_file(store, e, kMaxHistoryBytes);
        try {
            out.emplace(e.name.tli, TimelineHistory::parse(e.name.tli, text));
        } catch (const Error& err) {
            throw Error(err.code(),
                        "\"" + e.stored + "\" in " + store.describe() + ": " + err.what());
        }
    }
    return out;
}

std::uint64_t archive_segment_size(Store& store, const std::vector<ArchiveEntry>& entries) {
    if (std::optional<ArchiveInfo> info = read_archive_info(store)) {
        check_segment_size(info->seg_size);
        return info->seg_size;
    }
    for (const ArchiveEntry& e : entries) {
        if (!e.is_wal || e.name.kind != WalKind::kSegment) continue;
        std::size_t head_bytes = e.name.compressed ? kMetaReadSize : kWalLongHeaderSize;
        std::optional<ObjectStat> st = store.stat(e.stored, head_bytes);
        if (!st) continue;
        try {
            if (e.name.compressed) {
                std::size_t frame_size = 0;
                std::uint64_t size = decode_meta_frame(st->head, frame_size).raw_size;
                check_segment_size(size);
                return size;
            }
            return parse_wal_page_header(st->head).seg_size;
        } catch (const Error&) {
            continue;  // not a usable segment; another one will tell
        }
    }
    return kDefaultSegmentSize;
}

}  // namespace walferry
