// What the detached prefetch worker has to tell and cannot: its stderr is /dev/null (PostgreSQL
// must never wait on it), so each damaged copy it meets is noted in the spool, and the next call
// that uses the spool prints the note to its own stderr, the server log. Format only: no I/O.
//
// A note is one line: "<source URL>\t<stored file>\tWFnnn\t<message>\n". Fields hold no tab,
// line break or other control character (each becomes a space) and are cut to
// kMaxDamageNoteField bytes, so a note stays small and one line whatever a source holds.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace walferry {

inline constexpr std::size_t kMaxDamageNoteField = 1000;

struct DamageNote {
    std::string source;  // the source's URL
    std::string file;    // the stored name, "<segment>.zst"
    ErrorCode code = ErrorCode::kInvalidContainer;
    std::string message;  // the error's text, which names the copy and says what is wrong

    bool operator==(const DamageNote&) const = default;
};

std::string format_damage_note(const DamageNote& note);

// nullopt unless `text` is one whole note (trailing newline included) with a known code and no
// empty field.
std::optional<DamageNote> parse_damage_note(std::string_view text);

// The warning the next call prints, after "walferry-fetch: warning: ": the message and the code
// as a call that meets the copy itself says them, and who met it.
std::string damage_note_warning(const DamageNote& note);

}  // namespace walferry
