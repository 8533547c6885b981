// The one way walferry writes a local file: a temp file removed unless published, publishing
// that never replaces (or does, when asked), and the reads and listings with their messages.
#include "base/durable_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>

#include "base/error.h"
#include "expect_error.h"
#include "file_size_limit.h"
#include "scratch_dir.h"

using namespace walferry;
using test_errors::error_message;
namespace fs = std::filesystem;

namespace {

UniqueFd open_dir(const ScratchDir& dir) {
    UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

const TempName kTemp{".t.", 6, 0600, false};

// The wait status of a child process that runs `body`, then exits 0.
int child_status(const std::function<void()>& body) {
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        body();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    return status;
}

}  // namespace

TEST_CASE("publish without replacing refuses an existing name and leaves it intact",
          "[durable_file]") {
    ScratchDir dir;
    dir.write("a", "old");
    UniqueFd dirfd = open_dir(dir);
    {
        TempFile temp(dirfd.get(), dir.path(), kTemp);
        temp.write(std::string_view("new"));
        temp.sync();
        CHECK_FALSE(temp.publish("a", Publish::kNoReplace));
        CHECK(dir.read("a") == "old");
    }
    CHECK(names_in(dir.path()) == std::vector<std::string>{"a"});  // the temp file is gone too
    CHECK_FALSE(
        write_file_durably(dirfd.get(), dir.path(), "a", kTemp, "new", Publish::kNoReplace));
    CHECK(dir.read("a") == "old");
    CHECK(write_file_durably(dirfd.get(), dir.path(), "b", kTemp, "new", Publish::kNoReplace));
    CHECK(dir.read("b") == "new");
    CHECK(names_in(dir.path()) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("publish replacing replaces the name with the whole new file", "[durable_file]") {
    ScratchDir dir;
    dir.write("a", "old");
    UniqueFd dirfd = open_dir(dir);
    CHECK(write_file_durably(dirfd.get(), dir.path(), "a", kTemp, "new", Publish::kReplace));
    CHECK(dir.read("a") == "new");
    CHECK(names_in(dir.path()) == std::vector<std::string>{"a"});
    // Named by path (AT_FDCWD), as next to %p.
    TempFile temp(AT_FDCWD, "", TempName{dir / "a.tmp.", 6, 0600, false});
    temp.write(std::string_view("newer"));
    CHECK(temp.publish(dir / "a", Publish::kReplace));
    CHECK(dir.read("a") == "newer");
    CHECK(names_in(dir.path()) == std::vector<std::string>{"a"});
}

TEST_CASE("a temp file is removed on destruction unless published", "[durable_file]") {
    ScratchDir dir;
    UniqueFd dirfd = open_dir(dir);
    std::string path;
    {
        TempFile temp(dirfd.get(), dir.path(), TempName{".t.", 6, 0640, false});
        path = temp.path();
        CHECK_THAT(path, Catch::StartsWith(dir.path() + "/.t."));
        CHECK(path.size() == dir.path().size() + 4 + 6);
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777 & ~0640) == 0);
        CHECK(names_in(dir.path()).size() == 1);
    }
    CHECK(names_in(dir.path()).empty());
    // Two at once get two names.
    TempFile one(dirfd.get(), dir.path(), kTemp);
    TempFile two(dirfd.get(), dir.path(), kTemp);
    CHECK(one.path() != two.path());
}

TEST_CASE("a temp file that cannot be written whole is removed and the name left alone",
          "[durable_file]") {
    ScratchDir dir;
    dir.write("a", "old");
    UniqueFd dirfd = open_dir(dir);
    std::string msg;
    {
        FileSizeLimit limit(16);
        msg = error_message(ErrorCode::kIo, [&] {
            write_file_durably(dirfd.get(), dir.path(), "a", TempName{".a.tmp", 0, 0640, false},
                               std::string(100, 'x'), Publish::kReplace);
        });
    }
    CHECK(msg == "cannot write \"" + dir.path() + "/.a.tmp\": " + errno_text(EFBIG));
    CHECK(dir.read("a") == "old");
    CHECK(names_in(dir.path()) == std::vector<std::string>{"a"});
}

TEST_CASE("a fixed temp name is truncated and one that cannot be made is named in the error",
          "[durable_file]") {
    ScratchDir dir;
    dir.write(".a.tmp", "left by a writer that stopped, longer than the record");
    UniqueFd dirfd = open_dir(dir);
    CHECK(write_file_durably(dirfd.get(), dir.path(), "a", TempName{".a.tmp", 0, 0640, false},
                             "record", Publish::kReplace));
    CHECK(dir.read("a") == "record");
    CHECK(names_in(dir.path()) == std::vector<std::string>{"a"});

    const std::string missing = dir / "missing";
    CHECK(error_message(ErrorCode::kIo, [&] {
              TempFile temp(AT_FDCWD, "", TempName{missing + "/x.tmp", 0, 0600, false});
          }) == "cannot create temporary file \"" + missing + "/x.tmp\": " + errno_text(ENOENT));
    // A directory removed under its open fd.
    fs::create_directory(missing);
    UniqueFd gone(::open(missing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(gone);
    fs::remove(missing);
    std::string msg = error_message(ErrorCode::kIo, [&] {
        TempFile temp(gone.get(), missing, TempName{"x.", 6, 0600, false});
    });
    CHECK_THAT(msg, Catch::StartsWith("cannot create temporary file \"" + missing + "/x.") &&
                        Catch::EndsWith("\": " + errno_text(ENOENT)));
}

TEST_CASE("read_all reads to the end or one byte past a bound and says what failed",
          "[durable_file]") {
    ScratchDir dir;
    dir.write("f", "0123456789");
    UniqueFd fd(::open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd);
    CHECK(read_all(fd.get(), dir / "f") == "0123456789");
    REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
    CHECK(read_all(fd.get(), dir / "f", 4) == "01234");  // one more than 4: a larger file
    REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
    CHECK(read_all(fd.get(), dir / "f", 10) == "0123456789");

    std::vector<std::uint8_t> buf(4);
    CHECK(pread_full(fd.get(), buf, 8, dir / "f") == 2);
    CHECK(buf[0] == '8');
    REQUIRE(::lseek(fd.get(), 0, SEEK_SET) == 0);
    CHECK(read_full(fd.get(), buf, dir / "f") == 4);
    CHECK(buf[3] == '3');

    UniqueFd dirfd = open_dir(dir);
    CHECK(error_message(ErrorCode::kIo, [&] { read_all(dirfd.get(), dir.path()); }) ==
          "cannot read \"" + dir.path() + "\": " + errno_text(EISDIR));
    CHECK(error_message(ErrorCode::kIo, [&] {
              read_all(dirfd.get(), "known", kUnbounded, "cannot read hosts");
          }) == "cannot read hosts \"known\": " + errno_text(EISDIR));
    CHECK(error_message(ErrorCode::kIo, [&] { read_full(dirfd.get(), buf, dir.path()); }) ==
          "cannot read \"" + dir.path() + "\": " + errno_text(EISDIR));
    CHECK(error_message(ErrorCode::kIo, [&] { write_all(fd.get(), "x", dir / "f"); }) ==
          "cannot write \"" + dir / "f" + "\": " + errno_text(EBADF));
}

TEST_CASE("list_dir lists every entry but . and .. and says what failed", "[durable_file]") {
    ScratchDir dir;
    dir.write("b", "");
    dir.write(".hidden", "");
    fs::create_directory(dir / "sub");
    UniqueFd dirfd = open_dir(dir);
    std::vector<std::string> names;
    for (const DirEntry& e : list_dir(dirfd.get(), dir.path())) {
        names.push_back(e.name);
        if (e.type != DT_UNKNOWN) CHECK((e.type == DT_DIR) == (e.name == "sub"));
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{".hidden", "b", "sub"});
    // Twice: the directory fd's own offset is not used up.
    CHECK(list_dir(dirfd.get(), dir.path()).size() == 3);

    UniqueFd file(::open((dir / "b").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(file);
    CHECK(error_message(ErrorCode::kIo, [&] { list_dir(file.get(), dir / "b"); }) ==
          "cannot read directory \"" + dir / "b" + "\": " + errno_text(ENOTDIR));
    CHECK(error_message(ErrorCode::kIo, [&] { list_dir(file.get(), "x", "cannot list"); }) ==
          "cannot list \"x\": " + errno_text(ENOTDIR));
    CHECK(error_message(ErrorCode::kIo, [&] { fsync_dir(dir / "gone"); }) ==
          "cannot open directory \"" + dir / "gone" + "\": " + errno_text(ENOENT));
    fsync_dir(dir.path());
}

TEST_CASE("retry_eintr repeats a call interrupted by a signal and nothing else", "[durable_file]") {
    int calls = 0;
    CHECK(retry_eintr([&] {
              errno = ++calls < 3 ? EINTR : 0;
              return calls < 3 ? -1 : 5;
          }) == 5);
    CHECK(calls == 3);
    calls = 0;
    CHECK(retry_eintr([&] {
              ++calls;
              errno = EIO;
              return -1;
          }) == -1);
    CHECK(errno == EIO);
    CHECK(calls == 1);
}

TEST_CASE("stale temp files are swept and nothing else", "[durable_file]") {
    ScratchDir dir;
    const int old = 3600;
    for (std::string_view f : {".t.old", ".t.fresh", "other"}) dir.write(f, "x");
    set_age(dir / ".t.old", old);
    set_age(dir / "other", old);
    fs::create_directory(dir / ".t.dir");
    set_age(dir / ".t.dir", old);
    fs::create_symlink(dir / "other", dir / ".t.link");
    set_age(dir / ".t.link", old);
    UniqueFd dirfd = open_dir(dir);
    auto is_temp = [](std::string_view name) { return name.starts_with(".t."); };
    remove_stale_temps(dirfd.get(), is_temp, old - 60, true);
    CHECK(names_in(dir.path()) ==
          std::vector<std::string>{".t.dir", ".t.fresh", ".t.link", "other"});
    remove_stale_temps(-1, is_temp, 0, false);  // never fails
}

TEST_CASE("a signal removes the unpublished temp files named by path and ends the process",
          "[durable_file]") {
    for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) {
        ScratchDir dir;
        const int status = child_status([&] {
            ::signal(sig, SIG_DFL);  // Catch2's handler, inherited, would report the signal
            struct rlimit none {};
            ::setrlimit(RLIMIT_CORE, &none);  // SIGQUIT
            UniqueFd dirfd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
            TempFile published(AT_FDCWD, "", TempName{dir / "p.", 6, 0600, true});
            published.publish(dir / "p", Publish::kNoReplace);
            TempFile pending(AT_FDCWD, "", TempName{dir / "q.", 6, 0600, true});
            pending.write(std::string_view("half a segment"));
            // In a directory fd: left to the sweeps (the handler cannot trust the fd or a path).
            TempFile in_dir(dirfd.get(), dir.path(), TempName{"r.", 6, 0600, true});
            ::raise(sig);
        });
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == sig);
        std::vector<std::string> left = names_in(dir.path());
        REQUIRE(left.size() == 2);
        CHECK(left[0] == "p");
        CHECK_THAT(left[1], Catch::StartsWith("r."));
    }
}

TEST_CASE("an ignored signal stays ignored while a temp file is written", "[durable_file]") {
    ScratchDir dir;
    const int status = child_status([&] {
        ::signal(SIGHUP, SIG_IGN);  // nohup
        TempFile temp(AT_FDCWD, "", TempName{dir / "f.", 6, 0600, true});
        ::raise(SIGHUP);
        temp.publish(dir / "f", Publish::kReplace);
        ::_exit(7);
    });
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 7);
    CHECK(names_in(dir.path()) == std::vector<std::string>{"f"});
}
