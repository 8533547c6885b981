// The key pair an S3 destination signs with: access_key_id and secret_access_key_file from the
// config, else the standard environment ($AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY,
// $AWS_SESSION_TOKEN). A secret file that group or others may access is refused, as ssh refuses
// such a private key: a secret anyone can read is no longer one.
#pragma once

#include <functional>
#include <string>

#include "store/destination.h"

namespace walferry {

struct S3Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // temporary credentials only
};

using EnvLookup = std::function<const char*(const char*)>;

// Throws Error(kConfig) naming the destination and what is missing or wrong (a secret file that
// cannot be read, is not a regular file, is empty, or has any group/other permission bit).
S3Credentials s3_credentials(const Destination& destination, const EnvLookup& env);

// The secret in `path`: its first line, trailing white space removed.
std::string read_secret_file(const std::string& path, const std::string& destination_name);

}  // namespace walferry
