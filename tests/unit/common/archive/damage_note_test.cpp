// The notes the prefetch worker leaves for the next call: one line each, whatever a source or
// its message holds, and only whole, known notes read back.
#include "archive/damage_note.h"

#include <catch2/catch.hpp>

using namespace walferry;

namespace {

DamageNote sample() {
    return {"sftp://u@h:22/archive", "000000010000000000000027.zst", ErrorCode::kChecksumMismatch,
            "\"000000010000000000000027.zst\" in sftp://u@h:22/archive is damaged: SHA-256 "
            "mismatch"};
}

}  // namespace

TEST_CASE("a damage note is one tab-separated line and reads back the same", "[damage_note]") {
    const DamageNote note = sample();
    const std::string text = format_damage_note(note);
    CHECK(text ==
          "sftp://u@h:22/archive\t000000010000000000000027.zst\tWF007\t\"000000010000000000000027"
          ".zst\" in sftp://u@h:22/archive is damaged: SHA-256 mismatch\n");
    REQUIRE(parse_damage_note(text).has_value());
    CHECK(*parse_damage_note(text) == note);
}

TEST_CASE("a damage note's fields lose control characters and are cut", "[damage_note]") {
    DamageNote note = sample();
    note.message = "line one\nline\ttwo\r\x7f" + std::string(5000, 'x');
    note.source = "sftp://h/a\tb";
    const std::string text = format_damage_note(note);
    CHECK(text.find('\n') == text.size() - 1);  // one line
    std::optional<DamageNote> back = parse_damage_note(text);
    REQUIRE(back.has_value());
    CHECK(back->source == "sftp://h/a b");
    CHECK(back->message.starts_with("line one line two  "));
    CHECK(back->message.size() == kMaxDamageNoteField);
}

TEST_CASE("only a whole damage note with a known code is read", "[damage_note]") {
    const std::string good = format_damage_note(sample());
    CHECK_FALSE(parse_damage_note(""));
    CHECK_FALSE(parse_damage_note("\n"));
    CHECK_FALSE(parse_damage_note(good.substr(0, good.size() - 1)));  // no newline: cut short
    CHECK_FALSE(parse_damage_note(good + good));                      // two lines
    CHECK_FALSE(parse_damage_note("a\tb\tWF007\n"));                  // three fields
    CHECK_FALSE(parse_damage_note("a\tb\tWF007\tm\textra\n"));
    CHECK_FALSE(parse_damage_note("\tb\tWF007\tm\n"));  // empty source
    CHECK_FALSE(parse_damage_note("a\tb\tWF007\t\n"));  // empty message
    CHECK_FALSE(parse_damage_note("a\tb\tWF000\tm\n"));
    CHECK_FALSE(parse_damage_note("a\tb\tWF999\tm\n"));
    CHECK_FALSE(parse_damage_note("a\tb\tWF07\tm\n"));
    CHECK_FALSE(parse_damage_note("a\tb\tWFx07\tm\n"));
    CHECK_FALSE(parse_damage_note("a\tb\tWF006\tm\x01\n"));  // a control character
    CHECK_FALSE(
        parse_damage_note("a\tb\tWF006\t" + std::string(kMaxDamageNoteField + 1, 'm') + "\n"));
    std::optional<DamageNote> note = parse_damage_note("a\tb\tWF006\tm\n");
    REQUIRE(note.has_value());
    CHECK(note->code == ErrorCode::kInvalidContainer);
}

TEST_CASE("a damage note is printed as the call that met the copy would say it", "[damage_note]") {
    CHECK(damage_note_warning(sample()) ==
          "prefetch worker: \"000000010000000000000027.zst\" in sftp://u@h:22/archive is damaged: "
          "SHA-256 mismatch (WF007)");
}
