#include "store/s3/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <mutex>

#include "base/error.h"

namespace walferry {

namespace {

// An error body or a listing page is small; anything larger is not S3 talking.
constexpr std::size_t kMaxHeldBody = std::size_t{16} << 20;

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw Error(ErrorCode::kInternal, "curl_global_init failed");
        }
    });
}

struct HeaderList {
    curl_slist* list = nullptr;
    ~HeaderList() { curl_slist_free_all(list); }
    void add(const std::string& line) {
        curl_slist* next = curl_slist_append(list, line.c_str());
        if (!next) throw Error(ErrorCode::kInternal, "curl_slist_append failed");
        list = next;
    }
};

// The state of one transfer, reached from libcurl's callbacks.
struct Transfer {
    CURL* curl = nullptr;
    ByteParts upload;
    std::size_t part = 0;
    std::size_t offset = 0;
    const ByteSink* sink = nullptr;
    S3Response response;
    std::exception_ptr failure;
    bool too_big = false;
};

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::size_t room = size * count;
    std::size_t done = 0;
    while (done < room && t->part < t->upload.size()) {
        std::span<const std::uint8_t> p = t->upload[t->part];
        std::size_t n = std::min(room - done, p.size() - t->offset);
        std::memcpy(buffer + done, p.data() + t->offset, n);
        done += n;
        t->offset += n;
        if (t->offset == p.size()) {
            ++t->part;
            t->offset = 0;
        }
    }
    return done;
}

// libcurl rewinds an upload it must send again (a connection that closed under it).
int on_seek(void* user, curl_off_t offset, int origin) {
    auto* t = static_cast<Transfer*>(user);
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    auto rest = static_cast<std::uint64_t>(offset);
    t->part = 0;
    t->offset = 0;
    while (t->part < t->upload.size() && rest >= t->upload[t->part].size()) {
        rest -= t->upload[t->part].size();
        ++t->part;
    }
    if (t->part == t->upload.size() && rest > 0) return CURL_SEEKFUNC_FAIL;
    t->offset = static_cast<std::size_t>(rest);
    return CURL_SEEKFUNC_OK;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
        t->response.headers.clear();  // a 100 Continue, then the real answer
        return n;
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    t->response.headers[name] = std::string(value);
    return n;
}

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (t->sink && status >= 200 && status < 300) {
        try {
            t->response.streamed = true;
            (*t->sink)(
                std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data), n));
        } catch (...) {
            t->failure = std::current_exception();
            return 0;  // ends the transfer
        }
        return n;
    }
    if (t->response.body.size() + n > kMaxHeldBody) {
        t->too_big = true;
        return 0;
    }
    t->response.body.append(data, n);
    return n;
}

template <typename T>
void set(CURL* curl, CURLoption option, T value) {
    if (curl_easy_setopt(curl, option, value) != CURLE_OK) {
        throw Error(ErrorCode::kInternal,
                    "curl_easy_setopt(" + std::to_string(option) + ") failed");
    }
}

}  // namespace

struct CurlSession::Impl {
    TransportOptions options;
    std::string sigv4;
    std::string userpwd;
    CURL* curl = nullptr;
    char error[CURL_ERROR_SIZE] = {};
};

CurlSession::CurlSession(TransportOptions options) : impl_(std::make_unique<Impl>()) {
    global_init();
    impl_->options = std::move(options);
    impl_->sigv4 = "aws:amz:" + impl_->options.region + ":s3";
    impl_->userpwd = impl_->options.access_key_id + ":" + impl_->options.secret_access_key;
    impl_->curl = curl_easy_init();
    if (!impl_->curl) throw Error(ErrorCode::kInternal, "curl_easy_init failed");
}

CurlSession::~CurlSession() {
    curl_easy_cleanup(impl_->curl);
}

S3Response CurlSession::perform(const S3Request& request, ByteParts upload, const ByteSink* sink) {
    CURL* curl = impl_->curl;
    const TransportOptions& o = impl_->options;
    // Options back to their defaults; the connection (and TLS session) stays in the handle.
    curl_easy_reset(curl);
    Transfer t;
    t.curl = curl;
    t.upload = upload;
    t.sink = sink;
    HeaderList headers;
    for (const std::string& h : request.headers) headers.add(h);
    impl_->error[0] = '\0';
    set(curl, CURLOPT_ERRORBUFFER, impl_->error);
    set(curl, CURLOPT_URL, request.url.c_str());
    set(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    set(curl, CURLOPT_NOSIGNAL, 1L);
    set(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    set(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!o.ca_file.empty()) set(curl, CURLOPT_CAINFO, o.ca_file.c_str());
    set(curl, CURLOPT_AWS_SIGV4, impl_->sigv4.c_str());
    set(curl, CURLOPT_USERPWD, impl_->userpwd.c_str());
    set(curl, CURLOPT_HTTPHEADER, headers.list);
    set(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o.connect_timeout_s));
    // A store that stops answering (a full OSD hangs writes) fails the call instead of hanging
    // it: no byte for io_timeout ends any transfer; a request without a body gets that long in
    // all.
    set(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    set(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.io_timeout_s));
    set(curl, CURLOPT_HEADERFUNCTION, on_header);
    set(curl, CURLOPT_HEADERDATA, &t);
    set(curl, CURLOPT_WRITEFUNCTION, on_write);
    set(curl, CURLOPT_WRITEDATA, &t);
    if (request.method == "HEAD") {
        set(curl, CURLOPT_NOBODY, 1L);
    } else if (request.method == "PUT") {
        set(curl, CURLOPT_UPLOAD, 1L);
        set(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.upload_size));
        set(curl, CURLOPT_READFUNCTION, on_read);
        set(curl, CURLOPT_READDATA, &t);
        set(curl, CURLOPT_SEEKFUNCTION, on_seek);
        set(curl, CURLOPT_SEEKDATA, &t);
    } else if (request.method == "POST") {
        set(curl, CURLOPT_POST, 1L);
        set(curl, CURLOPT_POSTFIELDS, request.body.c_str());
        set(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    } else if (request.method != "GET") {
        set(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method != "PUT" && !(request.method == "GET" && sink)) {
        set(curl, CURLOPT_TIMEOUT, static_cast<long>(o.connect_timeout_s) + o.io_timeout_s);
    }
    const CURLcode rc = curl_easy_perform(curl);
    if (t.failure) std::rethrow_exception(t.failure);
    if (rc != CURLE_OK) {
        S3Response failed;
        failed.curl_code = static_cast<int>(rc);
        failed.curl_text = impl_->error[0] ? impl_->error : curl_easy_strerror(rc);
        if (t.too_big) failed.curl_text = "answer larger than 16 MiB";
        failed.streamed = t.response.streamed;
        return failed;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
    return std::move(t.response);
}

}  // namespace walferry
