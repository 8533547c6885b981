#include "wal/wal_name.h"

#include <cstdio>

#include "base/error.h"
#include "base/escape.h"
#include "wal/lsn.h"

namespace walferry {

namespace {

constexpr std::string_view kZstSuffix = ".zst";
constexpr std::string_view kPartialSuffix = ".partial";
constexpr std::string_view kHistorySuffix = ".history";
constexpr std::string_view kBackupSuffix = ".backup";

// Why a name was refused; empty when it was accepted. Kept apart from the throwing entry point
// so that listing an archive full of foreign files costs no exceptions.
struct Parsed {
    WalName name;
    const char* problem = nullptr;
};

bool is_upper_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}
bool is_lower_hex(char c) {
    return c >= 'a' && c <= 'f';
}

// Parses exactly 8 upper-case hex digits at `text[pos]`.
const char* hex8(std::string_view text, std::size_t pos, std::uint32_t& out) {
    if (text.size() < pos + 8) return "too short";
    std::uint32_t v = 0;
    for (std::size_t i = pos; i < pos + 8; ++i) {
        char c = text[i];
        if (is_lower_hex(c)) return "hex digits must be upper case";
        if (!is_upper_hex(c)) return "expected hex digits";
        v = v * 16 + static_cast<std::uint32_t>(c <= '9' ? c - '0' : c - 'A' + 10);
    }
    out = v;
    return nullptr;
}

const char* parse_segment_part(std::string_view text, WalName& name) {
    if (const char* p = hex8(text, 0, name.tli)) return p;
    if (const char* p = hex8(text, 8, name.log)) return p;
    return hex8(text, 16, name.seg);
}

// Why `raw` cannot be a WAL file name whatever its shape (length, characters); null if it can.
const char* unusable_text(std::string_view raw) {
    if (raw.empty()) return "empty name";
    if (raw.size() > kMaxWalNameLength) return "longer than 64 characters";
    for (char c : raw) {
        bool ok =
            (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.';
        if (!ok) {
            if (c == '/' || c == '\\') return "contains a path separator";
            return "contains a character that is not a letter, digit or '.'";
        }
    }
    return nullptr;
}

Parsed parse(std::string_view raw) {
    Parsed out;
    if (const char* problem = unusable_text(raw)) return {out.name, problem};
    std::string_view text = raw;
    if (text.ends_with(kZstSuffix)) {
        out.name.compressed = true;
        text.remove_suffix(kZstSuffix.size());
    }
    const char* problem = nullptr;
    if (text.size() == 24) {
        out.name.kind = WalKind::kSegment;
        problem = parse_segment_part(text, out.name);
    } else if (text.size() == 24 + kPartialSuffix.size() && text.ends_with(kPartialSuffix)) {
        out.name.kind = WalKind::kPartial;
        problem = parse_segment_part(text, out.name);
    } else if (text.size() == 8 + kHistorySuffix.size() && text.ends_with(kHistorySuffix)) {
        out.name.kind = WalKind::kHistory;
        problem = hex8(text, 0, out.name.tli);
    } else if (text.size() == 24 + 1 + 8 + kBackupSuffix.size() && text[24] == '.' &&
               text.ends_with(kBackupSuffix)) {
        out.name.kind = WalKind::kBackupHistory;
        problem = parse_segment_part(text, out.name);
        if (!problem) problem = hex8(text, 25, out.name.offset);
    } else {
        problem = "not a WAL segment, .partial, .history or .backup name";
    }
    if (!problem && out.name.tli == 0) problem = "timeline 0 does not exist";
    out.problem = problem;
    return out;
}

std::string hex8_text(std::uint32_t v) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08X", v);
    return buf;
}

}  // namespace

std::uint64_t WalName::segno(std::uint64_t seg_size) const {
    std::uint64_t per_log = segments_per_xlogid(seg_size);
    if (seg >= per_log) {
        throw Error(ErrorCode::kInvalidName,
                    "WAL file name \"" + wal_file_name() + "\" names segment " + hex8_text(seg) +
                        " of its log, but with wal_segment_size " + std::to_string(seg_size) +
                        " a log has only " + std::to_string(per_log) + " segments");
    }
    return std::uint64_t{log} * per_log + seg;
}

std::string WalName::wal_file_name() const {
    switch (kind) {
        case WalKind::kHistory:
            return hex8_text(tli) + std::string(kHistorySuffix);
        case WalKind::kPartial:
            return hex8_text(tli) + hex8_text(log) + hex8_text(seg) + std::string(kPartialSuffix);
        case WalKind::kBackupHistory:
            return hex8_text(tli) + hex8_text(log) + hex8_text(seg) + "." + hex8_text(offset) +
                   std::string(kBackupSuffix);
        case WalKind::kSegment:
            break;
    }
    return hex8_text(tli) + hex8_text(log) + hex8_text(seg);
}

std::string WalName::archive_file_name() const {
    return wal_file_name() + std::string(kZstSuffix);
}

WalName parse_wal_name(std::string_view name) {
    Parsed p = parse(name);
    if (p.problem) {
        throw Error(ErrorCode::kInvalidName,
                    "invalid WAL file name \"" + quote_name(name) + "\": " + p.problem);
    }
    return p.name;
}

bool try_parse_wal_name(std::string_view name, WalName& out) noexcept {
    Parsed p = parse(name);
    if (p.problem) return false;
    out = p.name;
    return true;
}

WalName segment_name(std::uint32_t tli, std::uint64_t segno, std::uint64_t seg_size) {
    std::uint64_t per_log = segments_per_xlogid(seg_size);
    if (tli == 0) throw Error(ErrorCode::kInvalidName, "timeline 0 does not exist");
    if (segno / per_log > 0xFFFFFFFFu) {
        throw Error(ErrorCode::kInvalidName,
                    "segment number " + std::to_string(segno) + " is past the end of WAL");
    }
    WalName name;
    name.kind = WalKind::kSegment;
    name.tli = tli;
    name.log = static_cast<std::uint32_t>(segno / per_log);
    name.seg = static_cast<std::uint32_t>(segno % per_log);
    return name;
}

WalName history_name(std::uint32_t tli) {
    if (tli == 0) throw Error(ErrorCode::kInvalidName, "timeline 0 does not exist");
    WalName name;
    name.kind = WalKind::kHistory;
    name.tli = tli;
    return name;
}

namespace {

WalName step_segment(const WalName& name, std::uint64_t seg_size, bool forward) {
    if (name.kind == WalKind::kHistory) {
        throw Error(ErrorCode::kInvalidName,
                    "\"" + name.wal_file_name() + "\" is a timeline history file, not a segment");
    }
    std::uint64_t segno = name.segno(seg_size);
    std::uint64_t last = segments_per_xlogid(seg_size) * 0x100000000ull - 1;
    if (forward ? segno == last : segno == 0) {
        throw Error(ErrorCode::kInvalidName, "\"" + name.wal_file_name() + "\" has no " +
                                                 (forward ? "next" : "previous") + " segment");
    }
    WalName out = segment_name(name.tli, forward ? segno + 1 : segno - 1, seg_size);
    out.compressed = name.compressed;
    return out;
}

}  // namespace

WalName next_segment(const WalName& name, std::uint64_t seg_size) {
    return step_segment(name, seg_size, true);
}

WalName previous_segment(const WalName& name, std::uint64_t seg_size) {
    return step_segment(name, seg_size, false);
}

std::string quote_name(std::string_view raw) {
    return escape_bytes(raw, 80);
}

}  // namespace walferry
