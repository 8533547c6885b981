#include "store/s3/s3_store.h"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <random>
#include <thread>

#include "archive/container.h"
#include "archive/sha256.h"
#include "base/error.h"
#include "store/s3/curl_transport.h"
#include "store/s3/s3_consumer_store.h"

namespace walferry {

namespace {

std::uint64_t random_u64() {
    std::random_device device;  // getrandom(2) on Linux
    return std::uint64_t{device()} << 32 | device();
}

std::string hex64(std::uint64_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(kDigits[(v >> shift) & 0xf]);
    return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::int64_t http_date(const std::string& value) {
    if (value.empty()) return 0;
    const time_t t = curl_getdate(value.c_str(), nullptr);
    return t < 0 ? 0 : static_cast<std::int64_t>(t);
}

std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return v;
}

bool is_2xx(long status) {
    return status >= 200 && status < 300;
}

}  // namespace

ObjectMetadata walferry_metadata(std::span<const std::uint8_t> first_part) {
    ContainerMeta meta;
    try {
        std::size_t frame_size = 0;
        meta = decode_meta_frame(first_part, frame_size);
    } catch (const Error&) {
        return {};
    }
    ObjectMetadata out = {{"container", std::to_string(meta.format_version)},
                          {"name", meta.name},
                          {"raw-size", std::to_string(meta.raw_size)},
                          {"sha256", to_hex(meta.sha256)}};
    if (meta.sysid != 0) out.emplace_back("sysid", std::to_string(meta.sysid));
    if (meta.tli != 0) out.emplace_back("tli", std::to_string(meta.tli));
    if (meta.pg_major != 0) out.emplace_back("pg-major", std::to_string(meta.pg_major));
    return out;
}

ProbeVerdict probe_verdict(long first, long second) {
    if (is_2xx(first) && second == 412) return ProbeVerdict::kHonoured;
    if (is_2xx(first) && is_2xx(second)) return ProbeVerdict::kIgnored;
    throw Error(ErrorCode::kUnavailable, "If-None-Match probe: unexpected answers HTTP " +
                                             std::to_string(first) + " then HTTP " +
                                             std::to_string(second));
}

std::optional<std::uint64_t> content_range_total(std::string_view value) {
    std::size_t slash = value.rfind('/');
    if (!value.starts_with("bytes ") || slash == std::string_view::npos) return std::nullopt;
    return number(value.substr(slash + 1));
}

EnvLookup S3Store::default_env() {
    return [](const char* name) -> const char* { return std::getenv(name); };
}

S3Store::S3Store(Destination destination, EnvLookup env)
    : destination_(std::move(destination)), env_(std::move(env)) {
    if (destination_.location.scheme != Location::Scheme::kS3) {
        throw Error(ErrorCode::kInternal, "S3Store for " + destination_.location.url());
    }
    target_ = s3_target(destination_);
}

S3Store::~S3Store() = default;

std::string S3Store::describe() const {
    return destination_.location.url();
}

std::string S3Store::url_of(std::string_view key) const {
    return "s3://" + target_.bucket + "/" + target_.key(key);
}

CurlSession& S3Store::session() {
    if (session_) return *session_;
    S3Credentials credentials = s3_credentials(destination_, env_);
    session_token_ = credentials.session_token;
    TransportOptions options;
    options.region = target_.region;
    options.access_key_id = credentials.access_key_id;
    options.secret_access_key = credentials.secret_access_key;
    options.ca_file = destination_.ca_file;
    options.connect_timeout_s = destination_.connect_timeout_s;
    options.io_timeout_s = destination_.io_timeout_s;
    session_ = std::make_unique<CurlSession>(std::move(options));
    return *session_;
}

S3Response S3Store::execute(S3Request request, ByteParts upload, const ByteSink* sink) {
    CurlSession& curl = session();
    add_session_token(request, session_token_);
    for (int attempt = 0;; ++attempt) {
        S3Response response = curl.perform(request, upload, sink);
        if (response.streamed || attempt >= destination_.retries || !s3_retryable(response)) {
            return response;
        }
        std::this_thread::sleep_for(s3_backoff(attempt, random_u64()));
    }
}

void S3Store::fail(std::string_view what, const S3Request& request,
                   const S3Response& response) const {
    const std::string text =
        s3_error_text(what, target_.endpoint(), target_.bucket, request.key, response);
    if (response.status == 0 || response.status >= 500 || response.status == 408 ||
        response.status == 429) {
        throw Error(ErrorCode::kUnavailable, text);
    }
    if (s3_auth_failure(response)) throw Error(ErrorCode::kConfig, text);
    throw Error(ErrorCode::kIo, text);
}

void S3Store::check_bucket() {
    if (bucket_checked_) return;
    S3Request request = head_bucket_request(target_);
    S3Response response = execute(request);
    if (response.status == 404) {
        throw Error(ErrorCode::kIo,
                    s3_error_text("archive bucket does not exist", target_.endpoint(),
                                  target_.bucket, "", response));
    }
    if (!is_2xx(response.status)) fail("cannot reach archive bucket", request, response);
    bucket_checked_ = true;
}

// Push warms its destinations up: the marker's HEAD connects, and is the first request a put
// needs anyway (a missing bucket or refused credentials show there).
void S3Store::warm_up() {
    check_create_only();
}

// Once per store object: a marker says a probe passed; else probe now (see s3_store.h).
void S3Store::check_create_only() {
    if (create_only_checked_) return;
    const std::string marker = target_.key(kCreateOnlyMarker);
    S3Request head = head_object_request(target_, marker);
    S3Response seen = execute(head);
    if (seen.status == 404) {
        check_bucket();
        const std::string probe = target_.key(".walferry-probe." + hex64(random_u64()));
        const std::string body = "walferry If-None-Match probe\n";
        auto create = [&] {
            S3Request put = put_object_request(target_, probe, to_hex(sha256(bytes_of(body))),
                                               body.size(), true, {});
            const std::span<const std::uint8_t> parts[] = {bytes_of(body)};
            S3Response r = execute(put, parts);
            if (r.status != 412 && !is_2xx(r.status)) fail("cannot write probe object", put, r);
            return r.status;
        };
        const long first = create();
        const long second = create();
        S3Request remove = delete_object_request(target_, probe);
        execute(remove);  // litter at worst: a '.'-name, never listed
        if (probe_verdict(first, second) == ProbeVerdict::kIgnored) {
            throw Error(ErrorCode::kUnsupported,
                        "s3 endpoint " + target_.endpoint() + ", bucket " + target_.bucket +
                            ": the store ignores If-None-Match: * (a second create-only PUT of "
                            "a probe key succeeded), so it could overwrite archived WAL; refused");
        }
        const std::string text = "if-none-match=honoured\n";
        S3Request put = put_object_request(target_, marker, to_hex(sha256(bytes_of(text))),
                                           text.size(), true, {});
        const std::span<const std::uint8_t> parts[] = {bytes_of(text)};
        S3Response r = execute(put, parts);
        if (r.status != 412 && !is_2xx(r.status)) fail("cannot write probe marker", put, r);
    } else if (!is_2xx(seen.status)) {
        fail("cannot reach archive", head, seen);
    }
    create_only_checked_ = true;
}

bool S3Store::put(std::string_view name, ByteParts parts) {
    check_object_name(name);
    check_create_only();
    listed_.erase(std::string(name));
    Sha256 hash;
    std::uint64_t size = 0;
    for (const auto& part : parts) {
        hash.update(part);
        size += part.size();
    }
    const ObjectMetadata metadata =
        parts.empty() ? ObjectMetadata{} : walferry_metadata(parts.front());
    S3Request request =
        put_object_request(target_, target_.key(name), to_hex(hash.finish()), size, true, metadata);
    S3Response response = execute(request, parts);
    if (is_2xx(response.status)) return true;
    if (response.status == 412) return false;  // the key exists: never replaced
    if (response.status == 404) check_bucket();
    fail("cannot store", request, response);
}

void S3Store::sync(std::string_view name) {
    listed_.erase(std::string(name));  // asked of the store, not of an older listing
    if (!stat(name, 0)) {
        throw Error(ErrorCode::kIo, "\"" + url_of(name) + "\" vanished before it was synced");
    }
}

std::optional<ObjectStat> S3Store::stat(std::string_view name, std::size_t head_bytes) {
    check_object_name(name);
    if (head_bytes == 0) {
        if (auto it = listed_.find(name); it != listed_.end()) return it->second;
    }
    const std::string key = target_.key(name);
    S3Request request = head_bytes == 0 ? head_object_request(target_, key)
                                        : get_object_request(target_, key, head_bytes);
    S3Response response = execute(request);
    if (response.status == 416) {  // an empty object has no byte 0
        request = head_object_request(target_, key);
        response = execute(request);
    }
    if (response.status == 404) {
        if (s3_error_code(response.body) != "NoSuchKey") check_bucket();
        if (s3_error_code(response.body) == "NoSuchBucket") fail("cannot stat", request, response);
        return std::nullopt;
    }
    if (!is_2xx(response.status)) fail("cannot stat", request, response);
    ObjectStat out;
    out.mtime = http_date(response.header("last-modified"));
    std::optional<std::uint64_t> size = response.status == 206
                                            ? content_range_total(response.header("content-range"))
                                            : number(response.header("content-length"));
    if (!size) {
        throw Error(ErrorCode::kIo,
                    s3_error_text("no object size in the answer", target_.endpoint(),
                                  target_.bucket, key, response));
    }
    out.size = *size;
    if (request.method == "GET") {
        response.body.resize(std::min<std::size_t>(response.body.size(), head_bytes));
        out.head.assign(response.body.begin(), response.body.end());
    }
    return out;
}

bool S3Store::get(std::string_view name, const ByteSink& sink) {
    check_object_name(name);
    S3Request request = get_object_request(target_, target_.key(name));
    S3Response response = execute(request, {}, &sink);
    if (response.status == 200) return true;
    if (response.status == 404 && s3_error_code(response.body) != "NoSuchBucket") {
        check_bucket();
        return false;
    }
    fail("cannot read", request, response);
}

std::vector<std::string> S3Store::list_keys(const std::string& key_prefix, bool flat,
                                            std::map<std::string, ObjectStat, std::less<>>* stats) {
    std::vector<std::string> keys;
    std::string token;
    for (;;) {
        S3Request request = list_objects_request(target_, key_prefix, token, flat);
        S3Response response = execute(request);
        if (!is_2xx(response.status)) {
            if (response.status == 404 && s3_error_code(response.body) == "NoSuchBucket") {
                throw Error(ErrorCode::kIo,
                            s3_error_text("archive bucket does not exist", target_.endpoint(),
                                          target_.bucket, "", response));
            }
            fail("cannot list", request, response);
        }
        S3ListPage page;
        try {
            page = parse_list_page(response.body);
        } catch (const Error& e) {
            throw Error(ErrorCode::kIo, std::string(e.what()) + " (s3 endpoint " +
                                            target_.endpoint() + ", bucket " + target_.bucket +
                                            ")");
        }
        for (std::size_t i = 0; i < page.keys.size(); ++i) {
            if (!page.keys[i].starts_with(key_prefix)) continue;
            if (stats) (*stats)[page.keys[i]] = ObjectStat{page.sizes[i], {}, page.mtimes[i]};
            keys.push_back(std::move(page.keys[i]));
        }
        if (!page.truncated) break;
        token = page.next_token;
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::vector<std::string> S3Store::list() {
    std::vector<std::string> names;
    std::map<std::string, ObjectStat, std::less<>> stats;
    listed_.clear();
    for (const std::string& key : list_keys(target_.prefix, true, &stats)) {
        std::string name = key.substr(target_.prefix.size());
        if (name.empty() || name.front() == '.' || name.find('/') != std::string::npos) continue;
        listed_[name] = stats[key];
        names.push_back(std::move(name));
    }
    return names;
}

bool S3Store::remove(std::string_view name) {
    check_object_name(name);
    listed_.erase(std::string(name));
    return delete_object(std::string(name));
}

void S3Store::remove_all(std::span<const std::string> names) {
    for (const std::string& name : names) {
        check_object_name(name);
        listed_.erase(name);
    }
    for (std::size_t i = 0; i < names.size(); i += kMaxDeleteKeys) {
        if (before_remove) before_remove();
        std::vector<std::string> keys;
        for (std::size_t j = i; j < names.size() && j < i + kMaxDeleteKeys; ++j) {
            keys.push_back(target_.key(names[j]));
        }
        S3Request request = delete_objects_request(target_, keys);
        S3Response response = execute(request);
        if (!is_2xx(response.status)) fail("cannot remove", request, response);
        std::vector<S3DeleteError> errors = parse_delete_errors(response.body);
        if (!errors.empty()) {
            S3Response first;
            first.status = response.status;
            first.body = "<Error><Code>" + xml_escape(errors.front().code) + "</Code><Message>" +
                         xml_escape(errors.front().message) + "</Message></Error>";
            request.key = errors.front().key;
            fail("cannot remove (" + std::to_string(errors.size()) + " of " +
                     std::to_string(keys.size()) + " keys refused)",
                 request, first);
        }
    }
}

bool S3Store::put_object(const std::string& key, const std::string& body, bool create_only) {
    S3Request request = put_object_request(
        target_, target_.key(key), to_hex(sha256(bytes_of(body))), body.size(), create_only, {});
    const std::span<const std::uint8_t> parts[] = {bytes_of(body)};
    S3Response response = execute(request, parts);
    if (is_2xx(response.status)) return true;
    if (create_only && response.status == 412) return false;
    if (response.status == 404) check_bucket();
    fail("cannot store", request, response);
}

std::optional<S3Store::Object> S3Store::get_object(const std::string& key, std::size_t max_bytes) {
    S3Request request = get_object_request(target_, target_.key(key), max_bytes + 1);
    S3Response response = execute(request);
    if (response.status == 416) {  // empty
        request = head_object_request(target_, target_.key(key));
        response = execute(request);
    }
    if (response.status == 404 && s3_error_code(response.body) != "NoSuchBucket") {
        check_bucket();
        return std::nullopt;
    }
    if (!is_2xx(response.status)) fail("cannot read", request, response);
    Object out;
    out.body = request.method == "GET" ? std::move(response.body) : std::string();
    out.last_modified = http_date(response.header("last-modified"));
    out.date = http_date(response.header("date"));
    return out;
}

std::vector<std::string> S3Store::list_objects(const std::string& key_prefix) {
    std::vector<std::string> keys = list_keys(target_.key(key_prefix), false);
    for (std::string& key : keys) key.erase(0, target_.prefix.size());
    return keys;
}

bool S3Store::delete_object(const std::string& key) {
    if (before_remove) before_remove();
    const std::string full = target_.key(key);
    S3Request head = head_object_request(target_, full);
    S3Response seen = execute(head);
    if (seen.status == 404) {
        check_bucket();
        return false;
    }
    if (!is_2xx(seen.status)) fail("cannot remove", head, seen);
    S3Request request = delete_object_request(target_, full);
    S3Response response = execute(request);
    if (!is_2xx(response.status)) fail("cannot remove", request, response);
    return true;
}

std::unique_ptr<ConsumerStore> S3Store::consumers(ConsumerAccess access, int lock_wait_s) {
    return std::make_unique<S3ConsumerStore>(*this, access, lock_wait_s);
}

}  // namespace walferry
