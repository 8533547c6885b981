// Prefetch: the pure plan (window, stale entries, when a worker is worth starting) and the spool
// (entries stored checked, served through the same checks, damaged ones refused, the lock).
#include "archive_fetch/prefetch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "archive/archive_info.h"
#include "archive/checked_reader.h"
#include "archive/container.h"
#include "archive_fetch/prefetch_plan.h"
#include "archive_fetch/prefetch_spool.h"
#include "base/error.h"
#include "base/file_identity.h"
#include "cli/config.h"
#include "expect_error.h"
#include "memory_store.h"
#include "memory_store_opener.h"
#include "scratch_dir.h"
#include "test_data.h"

using namespace walferry;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t k16M = 16u << 20;
constexpr std::uint64_t k1M = 1u << 20;
constexpr std::uint64_t kSysid = 7300000000000000001ULL;

// walferry.info of an archive of cluster `sysid` (1 MiB segments, PostgreSQL 15).
std::string info_text(std::uint64_t sysid = kSysid) {
    return format_archive_info({sysid, 15, k1M});
}

WalName seg(std::uint32_t tli, std::uint32_t log, std::uint32_t s) {
    WalName n;
    n.tli = tli;
    n.log = log;
    n.seg = s;
    return n;
}

std::vector<std::string> names(const std::vector<WalName>& v) {
    std::vector<std::string> out;
    for (const WalName& n : v) out.push_back(n.wal_file_name());
    return out;
}

template <typename T>
void put_at(std::vector<std::uint8_t>& b, std::size_t off, T v) {
    std::memcpy(b.data() + off, &v, sizeof v);
}

// A 1 MiB segment `name` with a valid long page header (PostgreSQL 15).
std::vector<std::uint8_t> raw_segment(const WalName& name, std::uint64_t seed = 0,
                                      std::uint64_t sysid = kSysid) {
    std::vector<std::uint8_t> raw = test_data::random_bytes(k1M, seed + name.seg);
    put_at(raw, 0, std::uint16_t{0xD110});
    put_at(raw, 2, std::uint16_t{0x0002});
    put_at(raw, 4, name.tli);
    put_at(raw, 8, std::uint64_t{name.segno(k1M) * k1M});
    put_at(raw, 24, sysid);
    put_at(raw, 32, static_cast<std::uint32_t>(k1M));
    put_at(raw, 36, std::uint32_t{8192});
    return raw;
}

// raw_segment(name, seed), stored as a container.
std::vector<std::uint8_t> stored_segment(const WalName& name, std::uint64_t seed = 0,
                                         std::uint64_t sysid = kSysid) {
    std::vector<std::uint8_t> raw = raw_segment(name, seed, sysid);
    ContainerWriter writer(CompressOptions{1, 1});
    writer.feed(raw);
    ContainerMeta meta;
    meta.name = name.wal_file_name();
    meta.sysid = sysid;
    meta.tli = name.tli;
    meta.pg_major = 15;
    CompressedFile file = writer.finish(meta);
    std::vector<std::uint8_t> out = file.meta_frame;
    out.insert(out.end(), file.payload.begin(), file.payload.end());
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> dir_names(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("the window is the next segments of the same timeline", "[prefetch]") {
    CHECK(names(prefetch_window(seg(1, 0, 5), k16M, 3)) ==
          std::vector<std::string>{"000000010000000000000006", "000000010000000000000007",
                                   "000000010000000000000008"});
    // 16 MiB segments: 256 per "log"; the window crosses into the next one.
    CHECK(names(prefetch_window(seg(2, 0, 0xFE), k16M, 3)) ==
          std::vector<std::string>{"0000000200000000000000FF", "000000020000000100000000",
                                   "000000020000000100000001"});
    // 1 MiB segments: 4096 per "log".
    CHECK(names(prefetch_window(seg(1, 3, 0xFFF), k1M, 1)) ==
          std::vector<std::string>{"000000010000000400000000"});
    CHECK(prefetch_window(seg(1, 0, 5), k16M, 0).empty());
    // Nothing after the last segment.
    CHECK(names(prefetch_window(seg(1, 0xFFFFFFFF, 0xFE), k16M, 4)) ==
          std::vector<std::string>{"00000001FFFFFFFF000000FF"});
}

TEST_CASE("another timeline makes every entry stale, a later segment those before it",
          "[prefetch]") {
    std::vector<WalName> entries{seg(1, 0, 6), seg(1, 0, 7), seg(1, 0, 8)};
    CHECK(stale_entries(entries, seg(1, 0, 6)).empty());
    CHECK(stale_entries(entries, seg(1, 0, 5))
              .empty());  // a step back keeps what recovery will reach
    CHECK(names(stale_entries(entries, seg(1, 0, 8))) ==
          std::vector<std::string>{"000000010000000000000006", "000000010000000000000007"});
    CHECK(stale_entries(entries, seg(1, 1, 0)) == entries);  // a jump past all of them
    CHECK(stale_entries(entries, seg(2, 0, 7)) == entries);  // timeline switch: all
    std::vector<WalName> mixed{seg(1, 0, 6), seg(2, 0, 7)};
    CHECK(stale_entries(mixed, seg(2, 0, 7)) == mixed);
    CHECK(stale_entries({}, seg(1, 0, 6)).empty());
}

TEST_CASE("a worker fetches what the window lacks and drops what is outside it", "[prefetch]") {
    std::vector<WalName> window = prefetch_window(seg(1, 0, 5), k16M, 4);  // 6..9
    std::vector<WalName> entries{seg(1, 0, 4), seg(1, 0, 7), seg(1, 0, 0x20)};
    CHECK(names(names_not_in(window, entries)) ==
          std::vector<std::string>{"000000010000000000000006", "000000010000000000000008",
                                   "000000010000000000000009"});
    CHECK(names(names_not_in(entries, window)) ==
          std::vector<std::string>{"000000010000000000000004", "000000010000000000000020"});
}

TEST_CASE("a worker is started once at most half of the window is in the spool", "[prefetch]") {
    std::vector<WalName> window = prefetch_window(seg(1, 0, 5), k16M, 8);  // 6..13
    CHECK(worker_wanted(window, {}));
    std::vector<WalName> present;
    for (std::uint32_t s = 6; s < 10; ++s) present.push_back(seg(1, 0, s));
    CHECK(worker_wanted(window, present));  // 4 of 8
    present.push_back(seg(1, 0, 10));
    CHECK_FALSE(worker_wanted(window, present));  // 5 of 8
    CHECK_FALSE(worker_wanted({}, {}));           // depth 0 or past the last segment
    CHECK(worker_wanted(prefetch_window(seg(1, 0, 5), k16M, 1), {}));
    CHECK_FALSE(worker_wanted(prefetch_window(seg(1, 0, 5), k16M, 1), {seg(1, 0, 6)}));
}

TEST_CASE("segments sort by timeline, log, segment", "[prefetch]") {
    CHECK(segment_before(seg(1, 0, 0xFF), seg(1, 1, 0)));
    CHECK(segment_before(seg(1, 5, 0), seg(2, 0, 0)));
    CHECK_FALSE(segment_before(seg(1, 0, 6), seg(1, 0, 6)));
}

TEST_CASE("the spool directory is keyed by the directory of %p and the sources", "[prefetch]") {
    std::vector<Destination> a(1), b(1);
    a[0].location = parse_location("sftp://u@h:22/archive", "/");
    b[0].location = parse_location("sftp://u@h:22/other", "/");
    std::string d1 = prefetch_dir("/data/pg_wal/RECOVERYXLOG", a);
    CHECK(d1.starts_with("prefetch/"));
    CHECK(d1.size() == std::string("prefetch/").size() + 16);
    // pg_rewind passes the target's own path: same data directory, same spool.
    CHECK(prefetch_dir("/data/./pg_wal/000000010000000000000005", a) == d1);
    CHECK(prefetch_dir("/data2/pg_wal/RECOVERYXLOG", a) != d1);
    // Through a symbolic link to the data directory, too.
    ScratchDir scratch;
    fs::create_directories(scratch / "data/pg_wal");
    fs::create_directory_symlink(scratch / "data", scratch / "link");
    CHECK(prefetch_dir(scratch / "link/pg_wal/000000010000000000000005", a) ==
          prefetch_dir(scratch / "data/pg_wal/RECOVERYXLOG", a));
    CHECK(prefetch_dir("/data/pg_wal/RECOVERYXLOG", b) != d1);
}

TEST_CASE("spool entries are stored checked and decompressed, and moved to %p", "[prefetch]") {
    ScratchDir scratch;
    MemoryStore source("src");
    source.set(kArchiveInfoName, info_text());
    const WalName s6 = seg(1, 0, 6);
    source.files[s6.archive_file_name()] = stored_segment(s6);
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    CHECK(spool.entries().empty());  // no directory yet: empty, not an error
    UniqueFd lock = spool.try_lock();
    REQUIRE(lock);
    CHECK(spool.store_from(source, s6) == RestoreOutcome::kRestored);
    CHECK(spool.store_from(source, seg(1, 0, 7)) == RestoreOutcome::kNotFound);
    // Not found only from an archive that answered: one with walferry.info.
    MemoryStore bare("bare");
    CHECK_THROWS_AS(spool.store_from(bare, seg(1, 0, 7)), Error);
    CHECK(names(spool.entries()) == std::vector<std::string>{"000000010000000000000006"});
    const std::string entry = spool.dir() + "/000000010000000000000006";
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"000000010000000000000006",
                                                             "000000010000000000000006.ok",
                                                             "lock"});
    // The segment itself, and the identity of the file as the worker left it.
    const auto raw = raw_segment(s6);
    CHECK(read_file(entry) == std::string(raw.begin(), raw.end()));
    // The identity and the cluster.
    CHECK(read_file(entry + ".ok") ==
          format_identity(*identity_of(entry)) + " " + std::to_string(kSysid) + "\n");
    CHECK((fs::status(entry).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    const auto id = identity_of(entry);
    std::uint64_t seg_size = 0;
    scratch.write("RECOVERYXLOG", "old");  // replaced
    REQUIRE(spool.serve(s6, scratch / "RECOVERYXLOG", &seg_size) == RestoreOutcome::kRestored);
    CHECK(seg_size == k1M);
    CHECK(scratch.read("RECOVERYXLOG") == std::string(raw.begin(), raw.end()));
    CHECK(identity_of(scratch / "RECOVERYXLOG")->ino == id->ino);       // moved, not copied
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});  // the entry is gone
    CHECK(spool.serve(s6, scratch / "other", &seg_size) == RestoreOutcome::kNotFound);
    CHECK_FALSE(fs::exists(scratch / "other"));
    spool.remove(s6);  // nothing there: no error
}

TEST_CASE("an entry on another file system than %p is copied", "[prefetch]") {
    ScratchDir scratch;
    const std::string shm = "/dev/shm";
    struct stat a {
    }, b{};
    if (::stat(shm.c_str(), &a) != 0 || ::stat(scratch.path().c_str(), &b) != 0 ||
        a.st_dev == b.st_dev || ::access(shm.c_str(), W_OK) != 0) {
        WARN("no writable /dev/shm on another file system than " << scratch.path() << ": not run");
        return;
    }
    MemoryStore source("src");
    source.set(kArchiveInfoName, info_text());
    const WalName s6 = seg(1, 0, 6);
    source.files[s6.archive_file_name()] = stored_segment(s6);
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    REQUIRE(spool.store_from(source, s6) == RestoreOutcome::kRestored);
    const std::string target = shm + "/walferry-prefetch-test-" + std::to_string(::getpid());
    std::uint64_t seg_size = 0;
    REQUIRE(spool.serve(s6, target, &seg_size) == RestoreOutcome::kRestored);
    std::string got = read_file(target);
    fs::remove(target);
    const auto raw = raw_segment(s6);
    CHECK(got == std::string(raw.begin(), raw.end()));
    CHECK(seg_size == k1M);
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});
    bool temp_left = false;
    for (const auto& e : fs::directory_iterator(shm))
        temp_left = temp_left || e.path().filename().string().starts_with(
                                     "walferry-prefetch-test-" + std::to_string(::getpid()));
    CHECK_FALSE(temp_left);
}

TEST_CASE("a spool entry changed since it was checked is refused and %p left alone", "[prefetch]") {
    ScratchDir scratch;
    MemoryStore source;
    source.set(kArchiveInfoName, info_text());
    const WalName s6 = seg(1, 0, 6);
    source.files[s6.archive_file_name()] = stored_segment(s6);
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    const std::string entry = spool.dir() + "/" + s6.wal_file_name();
    const auto raw = raw_segment(s6);
    std::string bytes(raw.begin(), raw.end());
    auto refused = [&](const std::string& why) {
        INFO(why);
        scratch.write("RECOVERYXLOG", "old");
        std::uint64_t seg_size = 0;
        std::string message = test_errors::error_message(ErrorCode::kInvalidContainer, [&] {
            spool.serve(s6, scratch / "RECOVERYXLOG", &seg_size);
        });
        CHECK(message.find(spool.dir()) != std::string::npos);  // names the copy
        CHECK(message.find(s6.wal_file_name()) != std::string::npos);
        CHECK(scratch.read("RECOVERYXLOG") == "old");
        CHECK(fs::exists(entry));  // left for the caller, which removes it and says so
        spool.remove(s6);
        CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});
        REQUIRE(spool.store_from(source, s6) == RestoreOutcome::kRestored);
    };
    REQUIRE(spool.store_from(source, s6) == RestoreOutcome::kRestored);

    // One byte changed in place: same inode, same size, a new ctime (20 ms later: past the
    // timestamp granularity of kernels without fine-grained timestamps).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    {
        std::string changed = bytes;
        changed[changed.size() / 2] = static_cast<char>(changed[changed.size() / 2] ^ 1);
        std::fstream f(entry, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<long>(changed.size() / 2));
        f.put(changed[changed.size() / 2]);
    }
    refused("changed in place");
    // Replaced by a file with the very same bytes: another inode.
    fs::remove(entry);
    std::ofstream(entry, std::ios::binary) << bytes;
    refused("replaced");
    // Truncated.
    fs::resize_file(entry, k1M / 2);
    refused("truncated");
    // An .ok record that is not one.
    std::ofstream(entry + ".ok") << "12:34\n";
    refused("bad record");
    // The identity matches, but the page header is another segment's (as a worker bug would
    // leave it): refused all the same.
    {
        std::vector<std::uint8_t> other = raw_segment(seg(1, 0, 7));
        fs::remove(entry);
        std::ofstream(entry, std::ios::binary)
            .write(reinterpret_cast<const char*>(other.data()), static_cast<long>(other.size()));
        std::ofstream(entry + ".ok")
            << format_identity(*identity_of(entry)) << " " << kSysid << "\n";
    }
    refused("another segment's header");
    // A symbolic link in place of the entry is never followed.
    fs::rename(entry, scratch / "elsewhere");
    fs::create_symlink(scratch / "elsewhere", entry);
    std::ofstream(entry + ".ok") << format_identity(*identity_of(scratch / "elsewhere")) << " "
                                 << kSysid << "\n";
    scratch.write("RECOVERYXLOG", "old");
    std::uint64_t seg_size = 0;
    CHECK_THROWS_AS(spool.serve(s6, scratch / "RECOVERYXLOG", &seg_size), Error);
    CHECK(scratch.read("RECOVERYXLOG") == "old");
}

TEST_CASE("a damaged source copy never reaches a final spool name", "[prefetch]") {
    ScratchDir scratch;
    MemoryStore source;
    const WalName s6 = seg(1, 0, 6), s7 = seg(1, 0, 7);
    auto bad = stored_segment(s6);
    bad.back() ^= 0x40;
    source.files[s6.archive_file_name()] = bad;
    source.files[s7.archive_file_name()] = stored_segment(s6);  // another segment's bytes
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    CHECK_THROWS_AS(spool.store_from(source, s6), Error);
    CHECK_THROWS_AS(spool.store_from(source, s7), Error);
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});
}

TEST_CASE("one worker lock per spool, gone with its holder", "[prefetch]") {
    ScratchDir scratch;
    PrefetchSpool spool(scratch / "a", "b/prefetch", kSysid);
    UniqueFd first = spool.try_lock();
    REQUIRE(first);
    CHECK(fs::is_directory(spool.dir()));  // made on the way, parents too
    CHECK((fs::status(spool.dir()).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK_FALSE(spool.try_lock());  // a second open of the lock file: refused at once
    first.reset();
    CHECK(spool.try_lock());
    // A spool that cannot be made is an error the caller turns into "no prefetch".
    scratch.write("file", "x");
    PrefetchSpool broken(scratch / "file", "prefetch", kSysid);
    CHECK_THROWS_AS(broken.try_lock(), Error);
}

TEST_CASE("what a stopped worker or an older version left is removed, entries kept", "[prefetch]") {
    ScratchDir scratch;
    PrefetchSpool spool(scratch.path(), "p", kSysid);
    UniqueFd lock = spool.try_lock();
    MemoryStore source;
    source.set(kArchiveInfoName, info_text());
    const WalName s7 = seg(1, 0, 7);
    source.files[s7.archive_file_name()] = stored_segment(s7);
    REQUIRE(spool.store_from(source, s7) == RestoreOutcome::kRestored);
    const std::string d = spool.dir() + "/";
    std::ofstream(d + ".000000010000000000000006.walferry-tmp.AbC123") << "half";
    std::ofstream(d + "000000010000000000000006.zst") << "stored form of 0.1";
    std::ofstream(d + "000000010000000000000008") << "no .ok: stopped before it";
    std::ofstream(d + "000000010000000000000009.ok") << "no segment";
    std::ofstream(d + "damaged.000000010000000000000005.zst.0") << "a note";
    spool.remove_leftovers();
    CHECK(dir_names(spool.dir()) ==
          std::vector<std::string>{"000000010000000000000007", "000000010000000000000007.ok",
                                   "damaged.000000010000000000000005.zst.0", "lock"});
    CHECK(names(spool.entries()) == std::vector<std::string>{"000000010000000000000007"});
}

TEST_CASE("the worker fills the window from the sources and stops at the first gap", "[prefetch]") {
    ScratchDir scratch;
    fs::create_directories(scratch / "archive");
    scratch.write("archive/walferry.info", info_text());
    for (std::uint32_t s : {6u, 7u, 9u}) {
        WalName n = seg(1, 0, s);
        auto bytes = stored_segment(n);
        std::ofstream(scratch / "archive/" + n.archive_file_name(), std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
    }
    std::vector<Destination> sources(1);
    sources[0].location = parse_location("file://" + (scratch / "archive"), "/");
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    {
        MemoryStore old;
        old.set(kArchiveInfoName, info_text());
        old.files[seg(1, 0, 3).archive_file_name()] = stored_segment(seg(1, 0, 3));
        REQUIRE(spool.store_from(old, seg(1, 0, 3)) == RestoreOutcome::kRestored);
    }
    std::ofstream(spool.dir() + "/.x.walferry-tmp.123456") << "half";
    fill_spool(spool, sources, prefetch_window(seg(1, 0, 5), k1M, 8), open_store);
    // 3 is outside the window; 8 is not archived: the worker stops there, 9 is not fetched.
    CHECK(dir_names(spool.dir()) ==
          std::vector<std::string>{"000000010000000000000006", "000000010000000000000006.ok",
                                   "000000010000000000000007", "000000010000000000000007.ok",
                                   "lock"});
}

TEST_CASE("damaged copies the worker met are noted in the spool and taken once", "[prefetch]") {
    ScratchDir scratch;
    PrefetchSpool spool(scratch.path(), "p", kSysid);
    CHECK(spool.take_damage_notes().empty());  // no directory: nothing, no error
    UniqueFd lock = spool.try_lock();
    DamageNote a{"sftp://u@h:22/a", "000000010000000000000007.zst", ErrorCode::kChecksumMismatch,
                 "first"};
    DamageNote b{"sftp://u@h:22/b", "000000010000000000000006.zst", ErrorCode::kInvalidContainer,
                 "second"};
    spool.note_damage(a, 0);
    a.message = "met again";
    spool.note_damage(a, 0);  // the same copy: its note is replaced, not added
    spool.note_damage(b, 1);
    std::ofstream(spool.dir() + "/damaged.x.2") << "not a note";
    CHECK(dir_names(spool.dir()) ==
          std::vector<std::string>{"damaged.000000010000000000000006.zst.1",
                                   "damaged.000000010000000000000007.zst.0", "damaged.x.2",
                                   "lock"});
    CHECK(spool.entries().empty());  // notes are not entries
    CHECK(spool.take_damage_notes() == std::vector<DamageNote>{b, a});
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});  // the bad one too
    CHECK(spool.take_damage_notes().empty());
}

TEST_CASE("the damage notes are capped", "[prefetch]") {
    ScratchDir scratch;
    PrefetchSpool spool(scratch.path(), "p", kSysid);
    UniqueFd lock = spool.try_lock();
    DamageNote note{"sftp://h/a", "", ErrorCode::kChecksumMismatch, "m"};
    for (std::uint32_t s = 1; s <= kMaxDamageNotes + 5; ++s) {
        note.file = seg(1, 0, s).archive_file_name();
        spool.note_damage(note, 0);
    }
    CHECK(dir_names(spool.dir()).size() == kMaxDamageNotes + 1);  // and the lock
    note.file = seg(1, 0, 1).archive_file_name();
    note.message = "again";
    spool.note_damage(note, 0);  // replacing one is still allowed
    std::vector<DamageNote> taken = spool.take_damage_notes();
    REQUIRE(taken.size() == kMaxDamageNotes);
    CHECK(taken.front() == note);
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});
}

TEST_CASE("the worker notes a damaged copy and takes the next source's", "[prefetch]") {
    ScratchDir scratch;
    const WalName s6 = seg(1, 0, 6);
    auto good = stored_segment(s6);
    auto bad = good;
    bad[bad.size() / 2] ^= 0x10;
    std::vector<Destination> sources(2);
    for (std::size_t i = 0; i < 2; ++i) {
        std::string dir = scratch / ("archive" + std::to_string(i));
        fs::create_directories(dir);
        std::ofstream(dir + "/walferry.info") << info_text();
        const auto& bytes = i == 0 ? bad : good;
        std::ofstream(dir + "/" + s6.archive_file_name(), std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<long>(bytes.size()));
        sources[i].location = parse_location("file://" + dir, "/");
    }
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    fill_spool(spool, sources, prefetch_window(seg(1, 0, 5), k1M, 2), open_store);
    CHECK(names(spool.entries()) == std::vector<std::string>{"000000010000000000000006"});
    std::vector<DamageNote> notes = spool.take_damage_notes();
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].source == sources[0].location.url());
    CHECK(notes[0].file == "000000010000000000000006.zst");
    CHECK(is_damage(notes[0].code));
    CHECK(notes[0].message.find("is damaged") != std::string::npos);
    CHECK(notes[0].message.find(scratch / "archive0") != std::string::npos);
}

TEST_CASE("the worker asks a source that failed no more and fills the window from the next",
          "[prefetch]") {
    ScratchDir scratch;
    walferry::testing::MemoryDestinations stores;
    std::vector<Destination> sources(2);
    for (std::size_t i = 0; i < 2; ++i) {
        sources[i].name = i == 0 ? "down" : "up";
        sources[i].location = parse_location("sftp://u@h" + std::to_string(i) + ":22/a", "/");
        MemoryStore& store = stores[sources[i].name];
        store.set(kArchiveInfoName, info_text());
        for (std::uint32_t s : {6u, 7u})
            store.files[seg(1, 0, s).archive_file_name()] = stored_segment(seg(1, 0, s));
    }
    stores["down"].fail(std::nullopt, ErrorCode::kUnavailable);
    PrefetchSpool spool(scratch.path(), "prefetch", kSysid);
    UniqueFd lock = spool.try_lock();
    fill_spool(spool, sources, prefetch_window(seg(1, 0, 5), k1M, 3), stores.opener());
    // 6 and 7 from "up"; 8 is in neither: the worker stops there.
    CHECK(names(spool.entries()) ==
          std::vector<std::string>{"000000010000000000000006", "000000010000000000000007"});
    CHECK(stores.opens("down") == 1);
    CHECK(stores["down"].calls == std::vector<std::string>{"get 000000010000000000000006.zst"});
    CHECK(stores.opens("up") == 1);  // one session for the whole window
    // Each segment's copy, then its archive's walferry.info (the wrong-cluster guard); the
    // missing one is "not found" only because walferry.info is there.
    CHECK(stores["up"].calls ==
          std::vector<std::string>{"get 000000010000000000000006.zst", "get walferry.info",
                                   "get 000000010000000000000007.zst", "get walferry.info",
                                   "get 000000010000000000000008.zst", "stat walferry.info"});
    CHECK(spool.take_damage_notes().empty());  // not reached is no damage
}

TEST_CASE("prefetch is on only with a remote source and a usable spool outside PGDATA",
          "[prefetch]") {
    ScratchDir scratch;
    fs::create_directories(scratch / "data/pg_wal");
    const std::string target = scratch / "data/pg_wal/RECOVERYXLOG";
    std::vector<Destination> remote(2), local(1);
    remote[0].location = parse_location("file:///archive", "/");
    remote[1].location = parse_location("sftp://u@h:22/archive", "/");
    local[0].location = parse_location("file:///archive", "/");
    Config config;
    config.spool = scratch / "spool";
    CHECK(Prefetcher::open(config, remote, target, kSysid, false, open_store).has_value());
    // Without the recovering server's system identifier the spool cannot tell clusters apart.
    CHECK_FALSE(
        Prefetcher::open(config, remote, target, std::nullopt, false, open_store).has_value());
    CHECK_FALSE(Prefetcher::open(config, local, target, kSysid, false, open_store).has_value());
    config.fetch.prefetch = 0;
    CHECK_FALSE(Prefetcher::open(config, remote, target, kSysid, false, open_store).has_value());
    config.fetch.prefetch = 8;
    config.spool = scratch / "data/walferry-spool";  // inside the data directory
    CHECK_FALSE(Prefetcher::open(config, remote, target, kSysid, false, open_store).has_value());
    config.spool = "relative/spool";
    CHECK_FALSE(Prefetcher::open(config, remote, target, kSysid, false, open_store).has_value());
    // Nothing is made on disk by deciding.
    CHECK_FALSE(fs::exists(scratch / "spool"));
}

TEST_CASE("a spool entry of another cluster is refused and every entry removed", "[prefetch]") {
    // The data directory was re-created at the same path (same spool key) for another cluster.
    ScratchDir scratch;
    fs::create_directories(scratch / "data/pg_wal");
    const std::string target = scratch / "data/pg_wal/RECOVERYXLOG";
    std::vector<Destination> sources(1);
    sources[0].location = parse_location("sftp://u@h:22/archive", "/");
    const std::string root = scratch / "spool";
    const std::string key = prefetch_dir(target, sources);
    {
        PrefetchSpool old(root, key, kSysid);
        MemoryStore source;
        source.set(kArchiveInfoName, info_text());
        UniqueFd lock = old.try_lock();
        for (std::uint32_t s : {6u, 7u, 8u}) {
            source.files[seg(1, 0, s).archive_file_name()] = stored_segment(seg(1, 0, s));
            REQUIRE(old.store_from(source, seg(1, 0, s)) == RestoreOutcome::kRestored);
        }
    }
    constexpr std::uint64_t kNew = 7400000000000000002ULL;
    PrefetchSpool spool(root, key, kNew);
    REQUIRE(spool.entries().size() == 3);
    scratch.write("data/pg_wal/RECOVERYXLOG", "old");
    std::uint64_t seg_size = 0;
    std::string message = test_errors::error_message(
        ErrorCode::kForeignCluster, [&] { spool.serve(seg(1, 0, 6), target, &seg_size); });
    CHECK(message.find("belongs to another cluster") != std::string::npos);
    CHECK(scratch.read("data/pg_wal/RECOVERYXLOG") == "old");

    Config config;
    config.spool = root;
    auto prefetcher = Prefetcher::open(config, sources, target, kNew, false, open_store);
    REQUIRE(prefetcher.has_value());
    CHECK_FALSE(prefetcher->serve(seg(1, 0, 6), target, seg_size));
    CHECK(scratch.read("data/pg_wal/RECOVERYXLOG") == "old");
    CHECK(spool.entries().empty());  // 7 and 8 too: no entry outlives its cluster
}

TEST_CASE("an entry whose .ok names another cluster is refused even with its own bytes",
          "[prefetch]") {
    // The .ok and the page header are both checked: a record of the server's cluster on a
    // segment of another is refused too.
    ScratchDir scratch;
    constexpr std::uint64_t kOther = 7400000000000000002ULL;
    MemoryStore source;
    source.set(kArchiveInfoName, info_text(kOther));
    const WalName s6 = seg(1, 0, 6);
    source.files[s6.archive_file_name()] = stored_segment(s6, 0, kOther);
    PrefetchSpool other(scratch.path(), "p", kOther);
    UniqueFd lock = other.try_lock();
    REQUIRE(other.store_from(source, s6) == RestoreOutcome::kRestored);
    const std::string entry = other.dir() + "/" + s6.wal_file_name();
    std::ofstream(entry + ".ok") << format_identity(*identity_of(entry)) << " " << kSysid << "\n";
    PrefetchSpool spool(scratch.path(), "p", kSysid);
    std::uint64_t seg_size = 0;
    test_errors::error_message(ErrorCode::kForeignCluster,
                               [&] { spool.serve(s6, scratch / "RECOVERYXLOG", &seg_size); });
    CHECK_FALSE(fs::exists(scratch / "RECOVERYXLOG"));
    // An .ok of the format before the cluster was recorded is not trusted either.
    std::ofstream(entry + ".ok") << format_identity(*identity_of(entry)) << "\n";
    test_errors::error_message(ErrorCode::kInvalidContainer,
                               [&] { spool.serve(s6, scratch / "RECOVERYXLOG", &seg_size); });
}

TEST_CASE("the worker stores no segment of another cluster and drops such entries", "[prefetch]") {
    ScratchDir scratch;
    constexpr std::uint64_t kOther = 7400000000000000002ULL;
    PrefetchSpool spool(scratch.path(), "p", kSysid);
    UniqueFd lock = spool.try_lock();
    MemoryStore source;
    const WalName s6 = seg(1, 0, 6);
    // The archive is another cluster's (rebuilt at the same URL): walferry.info and segment.
    source.set(kArchiveInfoName, info_text(kOther));
    source.files[s6.archive_file_name()] = stored_segment(s6, 0, kOther);
    test_errors::error_message(ErrorCode::kForeignCluster, [&] { spool.store_from(source, s6); });
    // Its walferry.info says ours, the segment is another's (left from before the rebuild).
    source.set(kArchiveInfoName, info_text());
    test_errors::error_message(ErrorCode::kForeignCluster, [&] { spool.store_from(source, s6); });
    // Its segment is ours, walferry.info another's, or none.
    source.files[s6.archive_file_name()] = stored_segment(s6);
    source.set(kArchiveInfoName, info_text(kOther));
    test_errors::error_message(ErrorCode::kForeignCluster, [&] { spool.store_from(source, s6); });
    source.files.erase(std::string(kArchiveInfoName));
    test_errors::error_message(ErrorCode::kForeignCluster, [&] { spool.store_from(source, s6); });
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});

    // An entry another cluster's worker left is a leftover for this cluster's worker.
    source.set(kArchiveInfoName, info_text(kOther));
    source.files[s6.archive_file_name()] = stored_segment(s6, 0, kOther);
    {
        PrefetchSpool other(scratch.path(), "p", kOther);
        REQUIRE(other.store_from(source, s6) == RestoreOutcome::kRestored);
    }
    REQUIRE(spool.entries().size() == 1);
    spool.remove_leftovers();
    // Removed, and said once by the next call (the worker's stderr goes nowhere).
    CHECK(spool.entries().empty());
    const std::vector<DamageNote> notes = spool.take_damage_notes();
    REQUIRE(notes.size() == 1);
    CHECK(notes[0].code == ErrorCode::kForeignCluster);
    CHECK_THAT(notes[0].message, Catch::Contains("belongs to another cluster"));
    CHECK(dir_names(spool.dir()) == std::vector<std::string>{"lock"});
}
