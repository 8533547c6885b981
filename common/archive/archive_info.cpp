#include "archive/archive_info.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <limits>
#include <sstream>
#include <vector>

#include "base/error.h"

namespace walferry {

namespace {

// walferry.info is a few dozen bytes; anything much larger is not one.
constexpr std::size_t kMaxInfoSize = std::size_t{64} * 1024;

[[noreturn]] void invalid(const std::string& why) {
    throw Error(ErrorCode::kInvalidContainer, std::string(kArchiveInfoName) + ": " + why);
}

// TOML integers are signed 64-bit, but a system identifier is unsigned and passes 2^63 for
// clusters created after 2038: those are written as a decimal string instead.
std::uint64_t read_sysid(const toml::node& node) {
    if (auto i = node.value_exact<std::int64_t>()) {
        if (*i > 0) return static_cast<std::uint64_t>(*i);
    } else if (auto s = node.value_exact<std::string>()) {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
        if (ec == std::errc() && end == s->data() + s->size() && v != 0) return v;
    }
    invalid("system_identifier must be a positive integer");
}

std::int64_t read_positive(const toml::table& root, std::string_view key) {
    const toml::node* node = root.get(key);
    if (node == nullptr) invalid(std::string(key) + " is missing");
    auto v = node->value_exact<std::int64_t>();
    if (!v || *v <= 0) invalid(std::string(key) + " must be a positive integer");
    return *v;
}

std::string describe_value(const std::string& what, const std::string& ours,
                           const std::string& recorded) {
    return what + " " + ours + " differs from " + recorded;
}

ArchiveInfo normalised(ArchiveInfo info) {
    if (info.pg_major == 0) info.pg_major = pg_major_for_magic(info.unverified_magic);
    if (info.pg_major != 0) info.unverified_magic = 0;
    return info;
}

// ensure_archive_info runs in walferry-push only.
void warn(const std::string& message) {
    std::fprintf(stderr, "walferry-push: warning: %s\n", message.c_str());
}

// Error(kForeignCluster) unless `segment` is of the cluster `recorded` (found in `where`) names.
void check_same_cluster(const ArchiveInfo& segment, const ArchiveInfo& recorded,
                        const std::string& where) {
    std::vector<std::string> differences;
    if (segment.sysid != recorded.sysid) {
        differences.push_back(describe_value("system identifier", std::to_string(segment.sysid),
                                             std::to_string(recorded.sysid)));
    }
    if (!same_pg_version(segment.pg_major, segment.unverified_magic, recorded.pg_major,
                         recorded.unverified_magic)) {
        differences.push_back(
            describe_value("PostgreSQL major version",
                           describe_pg_version(segment.pg_major, segment.unverified_magic),
                           describe_pg_version(recorded.pg_major, recorded.unverified_magic)));
    }
    if (segment.seg_size != recorded.seg_size) {
        differences.push_back(describe_value("wal_segment_size", std::to_string(segment.seg_size),
                                             std::to_string(recorded.seg_size)));
    }
    if (differences.empty()) return;
    std::string message = "the WAL file belongs to another cluster than the archive: ";
    for (std::size_t i = 0; i < differences.size(); ++i) {
        message += (i == 0 ? "" : ", ") + differences[i];
    }
    throw Error(ErrorCode::kForeignCluster, message + " recorded in " + where);
}

// Stored segments tried for their metadata when walferry.info is missing: enough to get past a
// damaged one or two, few enough to stay a handful of small reads.
constexpr std::size_t kStoredSegmentsTried = 8;

struct StoredCluster {
    ArchiveInfo info;
    std::string file;
};

// The cluster the archive's stored segments (and .partial files) name, from the metadata frame
// of the newest one that has a readable one; nullopt if it holds none. Segments none of whose
// metadata can be read -> Error(kInvalidContainer): whose the archive is cannot be told.
std::optional<StoredCluster> cluster_of_stored_segments(Store& store) {
    std::vector<std::string> names;
    for (std::string& stored : store.list()) {
        WalName name;
        if (try_parse_wal_name(stored, name) && name.compressed && name.has_wal_pages())
            names.push_back(std::move(stored));
    }
    std::sort(names.begin(), names.end(), std::greater<>());
    std::string problem;
    for (std::size_t i = 0; i < names.size() && i < kStoredSegmentsTried; ++i) {
        std::optional<ObjectStat> st = store.stat(names[i], kMetaReadSize);
        if (!st) continue;  // removed meanwhile (cleanup)
        try {
            std::size_t frame_size = 0;
            ContainerMeta meta = decode_meta_frame(st->head, frame_size);
            if (meta.sysid == 0) {
                throw Error(ErrorCode::kInvalidContainer, "no system identifier in its metadata");
            }
            return StoredCluster{cluster_of(meta), names[i]};
        } catch (const Error& e) {
            problem = "\"" + names[i] + "\": " + e.what();
        }
    }
    if (problem.empty()) return std::nullopt;
    throw Error(ErrorCode::kInvalidContainer,
                std::string(kArchiveInfoName) + " of " + store.describe() +
                    " is missing and no stored segment tells which cluster the archive belongs "
                    "to (" +
                    problem + "); restore " + std::string(kArchiveInfoName));
}

// Puts walferry.info for `info`; false if another pusher created it first.
bool put_archive_info(Store& store, const ArchiveInfo& info) {
    std::string text = format_archive_info(info);
    const std::span<const std::uint8_t> parts[] = {
        {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}};
    return store.put(kArchiveInfoName, parts);
}

}  // namespace

ArchiveInfo cluster_of(const WalPageHeader& header) {
    return normalised({header.sysid, header.pg_major, header.seg_size, header.magic});
}

ArchiveInfo cluster_of(const ContainerMeta& meta) {
    return normalised({meta.sysid, meta.pg_major, meta.raw_size, meta.wal_magic});
}

std::string format_archive_info(const ArchiveInfo& info) {
    std::string sysid = std::to_string(info.sysid);
    if (info.sysid > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        sysid = "\"" + sysid + "\"";
    }
    if (info.pg_major == 0) {
        return "system_identifier = " + sysid +
               "\npg_major = " + std::to_string(kNewestKnownPgMajor + 1) +
               "\nwal_segment_size = " + std::to_string(info.seg_size) + "\n" +
               "# WAL page magic " + format_wal_magic(info.unverified_magic) +
               " is newer than PostgreSQL " + std::to_string(kNewestKnownPgMajor) +
               "'s, the newest this walferry was verified with: its segments were\n"
               "# archived on the strength of their other header fields; pg_major is a lower "
               "bound.\nunverified_wal_magic = " +
               format_wal_magic(info.unverified_magic) + "\n";
    }
    return "system_identifier = " + sysid + "\npg_major = " + std::to_string(info.pg_major) +
           "\nwal_segment_size = " + std::to_string(info.seg_size) + "\n";
}

ArchiveInfo parse_archive_info(std::string_view text) {
    toml::table root;
    try {
        root = toml::parse(text);
    } catch (const toml::parse_error& e) {
        std::ostringstream where;
        where << e.source().begin;
        invalid("not valid TOML (" + std::string(e.description()) + " at " + where.str() + ")");
    }
    // Unknown keys are accepted: a newer walferry may record more.
    ArchiveInfo info;
    const toml::node* sysid = root.get("system_identifier");
    if (sysid == nullptr) invalid("system_identifier is missing");
    info.sysid = read_sysid(*sysid);
    std::int64_t major = read_positive(root, "pg_major");
    if (major > 1000) invalid("pg_major " + std::to_string(major) + " is out of range");
    info.pg_major = static_cast<int>(major);
    info.seg_size = static_cast<std::uint64_t>(read_positive(root, "wal_segment_size"));
    if (root.get("unverified_wal_magic") != nullptr) {
        std::int64_t magic = read_positive(root, "unverified_wal_magic");
        if (magic > 0xFFFF)
            invalid("unverified_wal_magic " + std::to_string(magic) + " is out of range");
        info.pg_major = 0;  // the recorded one is only a lower bound
        info.unverified_magic = static_cast<std::uint16_t>(magic);
    }
    return normalised(info);
}

std::optional<ArchiveInfo> read_archive_info(Store& store) {
    std::string text;
    bool found = store.get(kArchiveInfoName, [&](std::span<const std::uint8_t> chunk) {
        if (text.size() + chunk.size() > kMaxInfoSize) {
            throw Error(ErrorCode::kInvalidContainer, std::string(kArchiveInfoName) + " of " +
                                                          store.describe() + " is larger than " +
                                                          std::to_string(kMaxInfoSize) + " bytes");
        }
        text.append(chunk.begin(), chunk.end());
    });
    if (!found) return std::nullopt;
    try {
        return parse_archive_info(text);
    } catch (const Error& e) {
        throw Error(e.code(), std::string(e.what()) + " (in " + store.describe() + ")");
    }
}

void ensure_archive_info(Store& store, const ArchiveInfo& segment) {
    const std::string where = std::string(kArchiveInfoName) + " of " + store.describe();
    std::optional<ArchiveInfo> recorded = read_archive_info(store);
    if (!recorded) {
        // Lost, not new, if segments are stored: they, not this segment, say whose it is.
        std::optional<StoredCluster> stored = cluster_of_stored_segments(store);
        if (stored) {
            check_same_cluster(segment, stored->info,
                               "the metadata of \"" + stored->file + "\" in " + store.describe() +
                                   " (" + std::string(kArchiveInfoName) + " is missing)");
        }
        if (put_archive_info(store, stored ? stored->info : segment)) {
            if (stored) {
                warn(where + " was missing: re-created from the metadata of \"" + stored->file +
                     "\" (system identifier " + std::to_string(stored->info.sysid) + ")");
            } else if (segment.pg_major == 0) {
                warn("WAL page magic " + format_wal_magic(segment.unverified_magic) +
                     " is newer than PostgreSQL " + std::to_string(kNewestKnownPgMajor) +
                     "'s, the newest this walferry was verified with: archiving into " +
                     store.describe() +
                     " on the strength of the other header fields, recorded in " +
                     std::string(kArchiveInfoName) + " (warned once per archive)");
            }
            return;
        }
        // Another pusher created it between our read and put: what it wrote is the record.
        recorded = read_archive_info(store);
        if (!recorded) {
            throw Error(ErrorCode::kInternal, where + " exists but vanished while being read");
        }
    }
    check_same_cluster(segment, *recorded, where);
}

}  // namespace walferry
