#include "archive/damage_note.h"

#include <vector>

namespace walferry {

namespace {

constexpr char kSeparator = '\t';

std::string clean_field(std::string_view raw) {
    std::string out(raw.substr(0, kMaxDamageNoteField));
    for (char& c : out) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) c = ' ';
    }
    return out;
}

// "WF007" -> kChecksumMismatch; nullopt for anything else, unknown numbers included.
std::optional<ErrorCode> parse_tag(std::string_view tag) {
    if (tag.size() != 5 || !tag.starts_with("WF")) return std::nullopt;
    int number = 0;
    for (char c : tag.substr(2)) {
        if (c < '0' || c > '9') return std::nullopt;
        number = number * 10 + (c - '0');
    }
    if (number < 1 || number > static_cast<int>(kLastErrorCode)) return std::nullopt;
    return static_cast<ErrorCode>(number);
}

}  // namespace

std::string format_damage_note(const DamageNote& note) {
    return clean_field(note.source) + kSeparator + clean_field(note.file) + kSeparator +
           error_tag(note.code) + kSeparator + clean_field(note.message) + '\n';
}

std::optional<DamageNote> parse_damage_note(std::string_view text) {
    if (!text.ends_with('\n')) return std::nullopt;
    text.remove_suffix(1);
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
        std::size_t end = text.find(kSeparator, start);
        fields.push_back(text.substr(start, end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    if (fields.size() != 4) return std::nullopt;
    for (std::string_view f : fields) {
        if (f.empty() || f.size() > kMaxDamageNoteField || clean_field(f) != f) return std::nullopt;
    }
    std::optional<ErrorCode> code = parse_tag(fields[2]);
    if (!code) return std::nullopt;
    return DamageNote{std::string(fields[0]), std::string(fields[1]), *code,
                      std::string(fields[3])};
}

std::string damage_note_warning(const DamageNote& note) {
    return "prefetch worker: " + note.message + " (" + error_tag(note.code) + ")";
}

}  // namespace walferry
