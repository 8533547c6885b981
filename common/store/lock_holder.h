// Who holds a cleanup lock that is a file or an object (SFTP, S3): its holder writes
// lock_holder_record() into it, and a waiting cleanup names the holder with
// describe_lock_holder().
#pragma once

#include <string>
#include <string_view>

namespace walferry {

// What a lock file says of its holder, on one line: "host db2, pid 4711, since <time>".
std::string describe_lock_holder(std::string_view content);

// This process as a lock's holder: "host=<hostname>\npid=<pid>\ntime=<unix time>\n".
std::string lock_holder_record();

}  // namespace walferry
