#include "archive_info.h"

#include <toml++/toml.h>

#include <charconv>
#include <limits>
#include <sstream>
#include <vector>

#include "error.h"

namespace walferry {

namespace {

// walferry.info is a few dozen bytes; anything much larger is not one.
constexpr std::size_t kMaxInfoSize = 64 * 1024;

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

}  // namespace

std::string format_archive_info(const ArchiveInfo& info) {
    std::string sysid = std::to_string(info.sysid);
    if (info.sysid > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        sysid = "\"" + sysid + "\"";
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
    return info;
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
    std::optional<ArchiveInfo> recorded = read_archive_info(store);
    if (!recorded) {
        std::string text = format_archive_info(segment);
        const std::span<const std::uint8_t> parts[] = {
            {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}};
        if (store.put(kArchiveInfoName, parts)) return;
        // Another pusher created it between our read and put: what it wrote is the record.
        recorded = read_archive_info(store);
        if (!recorded) {
            throw Error(ErrorCode::kInternal, std::string(kArchiveInfoName) + " of " +
                                                  store.describe() +
                                                  " exists but vanished while being read");
        }
    }
    std::vector<std::string> differences;
    if (segment.sysid != recorded->sysid) {
        differences.push_back(describe_value("system identifier", std::to_string(segment.sysid),
                                             std::to_string(recorded->sysid)));
    }
    if (segment.pg_major != recorded->pg_major) {
        differences.push_back(describe_value("PostgreSQL major version",
                                             std::to_string(segment.pg_major),
                                             std::to_string(recorded->pg_major)));
    }
    if (segment.seg_size != recorded->seg_size) {
        differences.push_back(describe_value("wal_segment_size", std::to_string(segment.seg_size),
                                             std::to_string(recorded->seg_size)));
    }
    if (differences.empty()) return;
    std::string message = "the WAL file belongs to another cluster than the archive: ";
    for (std::size_t i = 0; i < differences.size(); ++i) {
        message += (i == 0 ? "" : ", ") + differences[i];
    }
    throw Error(
        ErrorCode::kForeignCluster,
        message + " recorded in " + std::string(kArchiveInfoName) + " of " + store.describe());
}

}  // namespace walferry
