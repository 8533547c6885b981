// The backlog's orchestration (oldest first, removed only once durable, refusals kept, a dead
// destination stops the drain) and look-ahead batching's pure parts, on in-memory stores.
#include "archive_push/backlog.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "archive_push/batch.h"
#include "archive_push/publish.h"
#include "archive_push/spool.h"
#include "memory_store.h"
#include "prepared_history.h"
#include "scratch_dir.h"
#include "store/file_store.h"
#include "store/location.h"
#include "store_test_helpers.h"

using namespace walferry;
using walferry::testing::error_of;

namespace {

PreparedWal history(std::uint32_t tli, std::string_view text) {
    return walferry::testing::prepared_history(tli, text);
}

Destination destination(const std::string& name, const std::string& url) {
    Destination d;
    d.name = name;
    d.location = parse_location(url, "/");
    return d;
}

}  // namespace

TEST_CASE("backlog entries sort oldest first and read back as published", "[backlog]") {
    MemoryStore queue("queue");
    add_to_backlog(queue, history(3, "2\t0/3000000\tthree\n"), 200);
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 100);
    queue.set("unrelated", "x");
    auto entries = backlog_entries(queue);
    REQUIRE(entries == std::vector<std::string>{"00000000000000000100.00000002.history.zst",
                                                "00000000000000000200.00000003.history.zst"});
    std::optional<PreparedWal> back = read_backlog_entry(queue, entries[0]);
    REQUIRE(back);
    CHECK(back->name == history_name(2));
    CHECK(back->file.meta.sha256 == history(2, "1\t0/2000000\ttwo\n").file.meta.sha256);
    CHECK_FALSE(read_backlog_entry(queue, "00000000000000000999.00000004.history.zst"));
    CHECK(backlog_bytes(queue) == queue.files[entries[0]].size() + queue.files[entries[1]].size());
}

TEST_CASE("the same file queued twice takes the next sequence", "[backlog]") {
    MemoryStore queue;
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 7);
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 7);
    CHECK(backlog_entries(queue).size() == 2);
}

TEST_CASE("drain sends oldest first and removes an entry only after the put", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1);
    add_to_backlog(queue, history(3, "2\t0/3000000\tthree\n"), 2);
    // A copy already there (identical) counts as delivered.
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 3);
    DrainResult r = drain_backlog(queue, dest);
    CHECK(r.sent == 3);
    CHECK(r.left == 0);
    CHECK_FALSE(r.failure);
    CHECK(dest.puts == std::vector<std::string>{"00000002.history.zst", "00000003.history.zst"});
    CHECK(backlog_entries(queue).empty());
}

TEST_CASE("two drains of one queue at once: each entry is sent, none is refused", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1);
    add_to_backlog(queue, history(3, "2\t0/3000000\tthree\n"), 2);
    add_to_backlog(queue, history(4, "3\t0/4000000\tfour\n"), 3);
    const auto entries = backlog_entries(queue);
    // While this drain sends the first entry, the other one sends the second and removes it,
    // and has sent the third but not yet removed it.
    bool raced = false;
    dest.before_put = [&](std::string_view name) {
        if (raced || name != "00000002.history.zst") return;
        raced = true;
        for (const auto& entry : {entries[1], entries[2]}) {
            const PreparedWal wal = *read_backlog_entry(queue, entry);
            const std::span<const std::uint8_t> parts[] = {wal.file.meta_frame, wal.file.payload};
            dest.put(std::string(wal.name.archive_file_name()), parts);
        }
        queue.remove(entries[1]);
    };
    DrainResult r = drain_backlog(queue, dest);
    CHECK(r.sent == 2);   // the first, and the third (found identical, removed here)
    CHECK(r.taken == 1);  // the second, gone before it was read
    CHECK(r.left == 0);
    CHECK(r.refused.empty());
    CHECK_FALSE(r.failure);
    CHECK(backlog_entries(queue).empty());
    CHECK(dest.files.size() == 3);
}

TEST_CASE("drain keeps a conflicting entry, reports it and goes on", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1);
    add_to_backlog(queue, history(3, "2\t0/3000000\tthree\n"), 2);
    const PreparedWal other = history(2, "1\t0/2000000\tother\n");
    const std::span<const std::uint8_t> parts[] = {other.file.meta_frame, other.file.payload};
    dest.put("00000002.history.zst", parts);
    DrainResult r = drain_backlog(queue, dest);
    CHECK(r.sent == 1);
    CHECK(r.left == 1);
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].code() == ErrorCode::kConflict);
    CHECK(backlog_entries(queue) ==
          std::vector<std::string>{"00000000000000000001.00000002.history.zst"});
}

TEST_CASE("drain stops at a destination that does not answer, keeping everything", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1);
    add_to_backlog(queue, history(3, "2\t0/3000000\tthree\n"), 2);
    dest.fail(MemoryStore::Op::kPut, ErrorCode::kUnavailable, 1);  // the second put fails
    DrainResult r = drain_backlog(queue, dest);
    CHECK(r.sent == 1);
    CHECK(r.left == 1);
    REQUIRE(r.failure);
    CHECK(r.failure->code() == ErrorCode::kUnavailable);
    CHECK(backlog_entries(queue) ==
          std::vector<std::string>{"00000000000000000002.00000003.history.zst"});
    dest.heal();
    CHECK(drain_backlog(queue, dest).sent == 1);
    CHECK(backlog_entries(queue).empty());
}

TEST_CASE("a damaged backlog entry is kept and reported", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    queue.set("00000000000000000001.00000002.history.zst", "not a container");
    DrainResult r = drain_backlog(queue, dest);
    REQUIRE(r.refused.size() == 1);
    CHECK(r.refused[0].code() == ErrorCode::kInvalidState);
    CHECK(queue.files.size() == 1);
    CHECK(dest.files.empty());
}

TEST_CASE("a backlog entry with a flipped byte is not sent: kept and reported", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1);
    add_to_backlog(queue, history(3, "2\t0/3000000\tthree\n"), 2);
    const std::string entry = "00000000000000000001.00000002.history.zst";
    queue.files[entry].back() ^= 0x01;  // in the zstd payload: the metadata frame is intact
    const std::vector<std::uint8_t> damaged = queue.files[entry];
    DrainResult r = drain_backlog(queue, dest);
    CHECK(dest.files.count("00000002.history.zst") == 0);  // never published
    CHECK(dest.files.count("00000003.history.zst") == 1);  // the next one still goes
    CHECK(r.sent == 1);
    CHECK(r.left == 1);
    REQUIRE(r.refused.size() == 1);
    CHECK_THAT(r.refused[0].what(), Catch::Contains(entry) && Catch::Contains("damaged"));
    CHECK(queue.files.at(entry) == damaged);  // kept as it was
}

TEST_CASE("a truncated backlog entry is not sent", "[backlog]") {
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1);
    const std::string entry = "00000000000000000001.00000002.history.zst";
    queue.files[entry].resize(queue.files[entry].size() - 3);
    DrainResult r = drain_backlog(queue, dest);
    CHECK(dest.files.empty());
    CHECK(r.refused.size() == 1);
    CHECK(queue.files.count(entry) == 1);
}

TEST_CASE("a damaged backlog entry is sent from pg_wal while the WAL file is there", "[backlog]") {
    ScratchDir wal_dir;
    const std::string text = "1\t0/2000000\ttwo\n";
    wal_dir.write("00000002.history", text);
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, text), 1, wal_dir / "00000002.history");
    const std::string entry = "00000000000000000001.00000002.history.zst";
    queue.files[entry].back() ^= 0x01;
    DrainResult r = drain_backlog(queue, dest);
    REQUIRE(dest.files.count("00000002.history.zst") == 1);
    CHECK(dest.text("00000002.history.zst").size() > 0);
    std::string restored;
    ContainerReader reader(
        [&](std::span<const std::uint8_t> c) { restored.append(c.begin(), c.end()); });
    reader.feed(dest.files["00000002.history.zst"]);
    CHECK(reader.finish().name == "00000002.history");
    CHECK(restored == text);
    // Reported, and the damaged entry kept, set aside where no drain sends it again.
    REQUIRE(r.refused.size() == 1);
    CHECK_THAT(r.refused[0].what(), Catch::Contains(entry) && Catch::Contains("damaged") &&
                                        Catch::Contains(wal_dir / "00000002.history"));
    CHECK(backlog_entries(queue).empty());
    CHECK(queue.files.count("damaged-" + entry) == 1);
    CHECK(drain_backlog(queue, dest).refused.empty());
}

TEST_CASE("a damaged entry whose WAL file is gone or differs stays in the backlog", "[backlog]") {
    ScratchDir wal_dir;
    MemoryStore queue("queue"), dest("dest");
    add_to_backlog(queue, history(2, "1\t0/2000000\ttwo\n"), 1, wal_dir / "00000002.history");
    const std::string entry = "00000000000000000001.00000002.history.zst";
    queue.files[entry].back() ^= 0x01;
    // Gone from pg_wal.
    DrainResult r = drain_backlog(queue, dest);
    CHECK(dest.files.empty());
    REQUIRE(r.refused.size() == 1);
    CHECK_THAT(r.refused[0].what(), Catch::Contains(entry) && Catch::Contains("damaged"));
    CHECK(backlog_entries(queue) == std::vector<std::string>{entry});
    // A file of that name with other content is not what was queued: not sent.
    wal_dir.write("00000002.history", "1\t0/2000000\tother\n");
    r = drain_backlog(queue, dest);
    CHECK(dest.files.empty());
    CHECK(r.refused.size() == 1);
    CHECK(backlog_entries(queue) == std::vector<std::string>{entry});
}

TEST_CASE("look-ahead takes consecutive ready segments of the same timeline", "[batch]") {
    const std::uint64_t seg = 16 << 20;
    WalName cur = parse_wal_name("0000000100000000000000FE");
    std::set<std::string> ready = {"0000000100000000000000FF", "000000010000000100000000",
                                   "000000010000000100000002", "000000020000000100000001"};
    auto next = look_ahead(cur, seg, ready, 8);
    REQUIRE(next.size() == 2);
    CHECK(next[1].wal_file_name() == "000000010000000100000000");
    CHECK(look_ahead(cur, seg, ready, 1).size() == 1);
    CHECK(look_ahead(parse_wal_name("00000002.history"), seg, ready, 8).empty());
}

TEST_CASE("batch markers round-trip and cover as required says", "[batch]") {
    const std::int64_t now = 1795400000;
    BatchMarker m{"000000010000000000000005",
                  16 << 20,
                  sha256({}),
                  {{"sb1", "sftp://u@h1:22/a"}, {"sb2", "sftp://u@h2:22/a"}},
                  std::nullopt,
                  now};
    BatchMarker back = parse_marker(format_marker(m));
    CHECK(back.name == m.name);
    CHECK(back.size == m.size);
    CHECK(back.sha256 == m.sha256);
    CHECK(back.destinations == m.destinations);
    CHECK(back.written == now);
    CHECK_FALSE(back.identity);
    m.identity = FileIdentity{2049, 123456789, 16 << 20, 1795400000123456789, 1795400000987654321};
    CHECK(parse_marker(format_marker(m)).identity == m.identity);
    CHECK(error_of([&] { parse_marker(format_marker(m) + "identity=1:2:3\n"); }).code() ==
          ErrorCode::kInvalidState);
    const auto sb1 = destination("sb1", "sftp://u@h1:22/a"),
               sb2 = destination("sb2", "sftp://u@h2:22/a"),
               sb3 = destination("sb3", "sftp://u@h3:22/a");
    CHECK(marker_covers(m, {sb1, sb2}, std::nullopt, now, open_store));
    CHECK_FALSE(marker_covers(m, {sb1, sb2, sb3}, std::nullopt, now, open_store));
    CHECK(marker_covers(m, {sb1, sb2, sb3}, 2, now, open_store));
    CHECK_FALSE(marker_covers(m, {sb2, sb3}, 2, now, open_store));
    CHECK(error_of([] { parse_marker("name=x\n"); }).code() == ErrorCode::kInvalidState);
    // A marker of the first format names destinations by name alone: not trusted.
    CHECK(error_of([] {
              parse_marker(
                  "walferry-batch-marker=1\nname=000000010000000000000005\nsize=1\nsha256=" +
                  to_hex(sha256({})) + "\ndestination=sb1\n");
          }).code() == ErrorCode::kInvalidState);
    // A line break in a name would let it forge lines: no marker is written.
    BatchMarker forged = m;
    forged.destinations[0].name = "sb1\nurl=file:///x";
    CHECK(error_of([&] { format_marker(forged); }).code() == ErrorCode::kInvalidState);

    MemoryStore markers;
    write_marker(markers, m);
    write_marker(markers, m);  // replaces
    REQUIRE(read_marker(markers, m.name));
    CHECK_FALSE(read_marker(markers, "000000010000000000000006"));
}

TEST_CASE("a marker vouches for a destination by name and url", "[batch]") {
    const std::int64_t now = 1795400000;
    BatchMarker m{"000000010000000000000005",
                  1,
                  sha256({}),
                  {{"sb1", "sftp://u@h1:22/a"}},
                  std::nullopt,
                  now};
    CHECK(
        marker_covers(m, {destination("sb1", "sftp://u@h1:22/a")}, std::nullopt, now, open_store));
    // The same name with another url is another archive.
    CHECK_FALSE(
        marker_covers(m, {destination("sb1", "sftp://u@h9:22/a")}, std::nullopt, now, open_store));
    CHECK_FALSE(
        marker_covers(m, {destination("sb1", "sftp://u@h1:22/b")}, std::nullopt, now, open_store));
}

TEST_CASE("a marker answers only within its age limit", "[batch]") {
    const std::int64_t t = 1795400000;
    BatchMarker m{
        "000000010000000000000005", 1, sha256({}), {{"sb1", "sftp://u@h1:22/a"}}, std::nullopt, t};
    const std::vector<Destination> d{destination("sb1", "sftp://u@h1:22/a")};
    CHECK(marker_covers(m, d, std::nullopt, t + kMarkerMaxAgeS, open_store));
    CHECK_FALSE(marker_covers(m, d, std::nullopt, t + kMarkerMaxAgeS + 1, open_store));
    CHECK_FALSE(
        marker_covers(m, d, std::nullopt, t - 1, open_store));  // the clock went back: unknown age
}

TEST_CASE("a marker for a local archive holds only while the archive holds the file", "[batch]") {
    ScratchDir dir;
    const PreparedWal wal = history(2, "1\t0/2000000\ttwo\n");
    const std::string url = "file://" + dir.path();
    BatchMarker m{"00000002.history", wal.file.meta.raw_size, wal.file.meta.sha256,
                  {{"a", url}},       std::nullopt,           1795400000};
    const std::vector<Destination> d{destination("a", url)};
    CHECK_FALSE(
        marker_covers(m, d, std::nullopt, m.written, open_store));  // not there (archive replaced)
    FileStore store(dir.path());
    publish(store, wal);
    CHECK(marker_covers(m, d, std::nullopt, m.written, open_store));
    m.sha256 = sha256(walferry::testing::bytes_of("other"));
    CHECK_FALSE(marker_covers(m, d, std::nullopt, m.written, open_store));
}

TEST_CASE("a marker answers for the very same file, or for the same bytes hashed again",
          "[batch]") {
    ScratchDir dir;
    const std::string path = dir / "000000010000000000000005";
    dir.write("000000010000000000000005", "segment bytes");
    const auto bytes = walferry::testing::bytes_of("segment bytes");
    BatchMarker m{"000000010000000000000005", bytes.size(),      sha256(bytes),
                  {{"sb1", "file:///a"}},     identity_of(path), 0};
    REQUIRE(m.identity);
    CHECK(marker_matches_file(m, path));  // unchanged since: no hashing needed
    // Same bytes written again: another version of the file (ctime moved), the hash decides.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    dir.write("000000010000000000000005", "segment bytes");
    CHECK(identity_of(path) != m.identity);
    CHECK(marker_matches_file(m, path));
    // Other bytes of the same size: refused.
    dir.write("000000010000000000000005", "segment BYTES");
    CHECK_FALSE(marker_matches_file(m, path));
    // A marker without identity, or for a file that is gone.
    m.identity.reset();
    CHECK_FALSE(marker_matches_file(m, path));
    std::filesystem::remove(path);
    CHECK_FALSE(marker_matches_file(m, path));
}

TEST_CASE("destination keys are file names", "[spool]") {
    CHECK(destination_key("pg2") == "pg2");
    CHECK(destination_key("sftp://u@h:22/a") == "sftp%3A%2F%2Fu%40h%3A22%2Fa");
    CHECK(destination_key(std::string(300, 'x')).starts_with("sha256-"));
    CHECK(destination_key("..").find('.') == std::string::npos);
}

TEST_CASE("the spool is refused inside the data directory", "[spool]") {
    CHECK(error_of([] {
              Spool("/srv/pg/data/walferry").check_outside_data_dir("/srv/pg/data/pg_wal/x");
          }).code() == ErrorCode::kConfig);
    CHECK(error_of([] {
              Spool("/srv/pg/data").check_outside_data_dir("/srv/pg/data/pg_wal/x");
          }).code() == ErrorCode::kConfig);
    Spool("/srv/pg/spool").check_outside_data_dir("/srv/pg/data/pg_wal/x");
    Spool("/srv/pg/data-spool").check_outside_data_dir("/srv/pg/data/pg_wal/x");
    Spool("/srv/pg/data/walferry").check_outside_data_dir("/tmp/x/000000010000000000000001");
    CHECK(error_of([] { Spool("relative"); }).code() == ErrorCode::kConfig);
}
