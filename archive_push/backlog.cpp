#include "backlog.h"

#include <algorithm>
#include <cstdio>

#include "publish.h"

namespace walferry {

namespace {

constexpr std::size_t kSeqDigits = 20;

// True for "<20 digits>.<something>".
bool is_entry_name(std::string_view name) {
    if (name.size() <= kSeqDigits + 1 || name[kSeqDigits] != '.') return false;
    return std::all_of(name.begin(), name.begin() + kSeqDigits,
                       [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool is_refusal(ErrorCode code) {
    return code == ErrorCode::kConflict || code == ErrorCode::kForeignCluster ||
           code == ErrorCode::kInvalidContainer || code == ErrorCode::kInvalidState ||
           code == ErrorCode::kInvalidName;
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

void add_to_backlog(Store& queue, const PreparedWal& wal, std::uint64_t seq) {
    const std::span<const std::uint8_t> parts[] = {wal.file.meta_frame, wal.file.payload};
    // A name taken already (same sequence and file): try the next sequence numbers.
    for (int attempt = 0; attempt < 1000; ++attempt) {
        if (queue.put(backlog_entry_name(seq + static_cast<std::uint64_t>(attempt), wal.name),
                      parts)) {
            return;
        }
    }
    throw Error(ErrorCode::kInternal, "no free backlog name for \"" + wal.name.wal_file_name() +
                                          "\" in " + queue.describe());
}

std::optional<PreparedWal> read_backlog_entry(Store& queue, const std::string& entry) {
    std::vector<std::uint8_t> bytes;
    bool found = queue.get(entry, [&](std::span<const std::uint8_t> chunk) {
        bytes.insert(bytes.end(), chunk.begin(), chunk.end());
    });
    const std::string where = "backlog entry \"" + entry + "\" in " + queue.describe();
    if (!found) return std::nullopt;
    PreparedWal wal;
    try {
        std::size_t frame_size = 0;
        wal.file.meta = decode_meta_frame(bytes, frame_size);
        wal.name = parse_wal_name(wal.file.meta.name);
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

DrainResult drain_backlog(Store& queue, Store& destination) {
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
            std::optional<PreparedWal> wal = read_backlog_entry(queue, entry);
            if (!wal) {
                ++result.taken;
                continue;
            }
            publisher.publish(*wal);
            // Durably in the destination (stored now or identical already): only now removed.
            queue.remove(entry);
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
