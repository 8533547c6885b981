#include "store/s3/s3_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "base/durable_file.h"
#include "base/error.h"
#include "base/unique_fd.h"

namespace walferry {

namespace {

constexpr std::size_t kMaxSecretBytes = 4096;

[[noreturn]] void bad(const std::string& destination, const std::string& why) {
    throw Error(ErrorCode::kConfig, "destination \"" + destination + "\": " + why);
}

std::string env_text(const EnvLookup& env, const char* name) {
    const char* value = env(name);
    return value ? value : "";
}

}  // namespace

std::string read_secret_file(const std::string& path, const std::string& destination) {
    const std::string shown = "secret_access_key_file \"" + path + "\"";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) bad(destination, "cannot open " + shown + ": " + errno_text(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        bad(destination, "cannot stat " + shown + ": " + errno_text(errno));
    if (!S_ISREG(st.st_mode)) bad(destination, shown + " is not a regular file");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        bad(destination,
            shown + " may be accessed by group or others (mode " + mode + "): run chmod 600 on it");
    }
    std::vector<std::uint8_t> buf(kMaxSecretBytes + 1);
    std::size_t n = read_full(fd.get(), buf, path);
    if (n > kMaxSecretBytes) bad(destination, shown + " is larger than 4096 bytes");
    std::string text(reinterpret_cast<const char*>(buf.data()), n);
    text = text.substr(0, text.find('\n'));
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
        text.pop_back();
    if (text.empty()) bad(destination, shown + " is empty");
    return text;
}

S3Credentials s3_credentials(const Destination& d, const EnvLookup& env) {
    S3Credentials c;
    c.access_key_id =
        d.access_key_id.empty() ? env_text(env, "AWS_ACCESS_KEY_ID") : d.access_key_id;
    if (!d.secret_access_key_file.empty()) {
        c.secret_access_key = read_secret_file(d.secret_access_key_file, d.name);
    } else {
        c.secret_access_key = env_text(env, "AWS_SECRET_ACCESS_KEY");
        // Temporary credentials come as a triple from the environment.
        if (d.access_key_id.empty()) c.session_token = env_text(env, "AWS_SESSION_TOKEN");
    }
    if (c.access_key_id.empty()) {
        bad(d.name, "no access key: set access_key_id or $AWS_ACCESS_KEY_ID");
    }
    if (c.secret_access_key.empty()) {
        bad(d.name, "no secret key: set secret_access_key_file or $AWS_SECRET_ACCESS_KEY");
    }
    if (c.access_key_id.find_first_of(":\r\n") != std::string::npos ||
        c.secret_access_key.find_first_of("\r\n") != std::string::npos ||
        c.session_token.find_first_of("\r\n") != std::string::npos) {
        bad(d.name, "the access key, secret or session token holds ':' or a line break");
    }
    return c;
}

}  // namespace walferry
