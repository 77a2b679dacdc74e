// write_file_atomically(path, bytes, where): replace a file's contents all at once or not at all.
//
// The bytes go to a temporary file `<path>.tmp.<pid>` in the same directory, which is flushed to disk
// (fsync) and then renamed over `path`. POSIX rename within one file system is atomic, so a reader (or a
// run resumed after a crash) sees either the old file or the complete new one, never a torn write: a
// process killed while writing leaves at most a stray `.tmp.<pid>` file beside an intact target. The pid
// in the name keeps two processes saving to the same path from writing into each other's temporary file.
//
// If anything fails (the directory is missing or read-only, the disk is full, the file size limit is
// hit, the rename is refused), the temporary file is removed, `path` is left exactly as it was, and a
// bijou::file_format_error names the operation, the file and the system's reason.
//
// POSIX only (open/write/fsync/rename).
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include <bijou/engine/io/binary.hpp>

namespace bijou {

// The temporary file a write to `path` by this process goes through.
inline std::filesystem::path temporary_path_for(const std::filesystem::path& path)
{
    return std::filesystem::path(path.string() + ".tmp." + std::to_string(::getpid()));
}

inline void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes,
                                  std::string_view where)
{
    const std::filesystem::path temporary = temporary_path_for(path);
    auto fail = [&](const char* doing, int error) {
        ::unlink(temporary.c_str());
        throw_file_error(where, path, "could not save: ", doing, " '", temporary.string(), "' failed: ",
                         std::strerror(error), "; the existing file (if any) is unchanged");
    };

    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int error = errno;
        throw_file_error(where, path, "could not save: creating '", temporary.string(), "' failed: ",
                         std::strerror(error), "; the existing file (if any) is unchanged");
    }
    // write() may write less than asked (signals, pipes, quotas): loop until everything is out.
    const std::byte* next = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        const ::ssize_t written = ::write(fd, next, left);
        if (written < 0) {
            if (errno == EINTR) continue;
            const int error = errno;
            ::close(fd);
            fail("writing", error);
        }
        next += written;
        left -= static_cast<std::size_t>(written);
    }
    // The data must be on disk before the rename makes it the file: otherwise a power cut right after
    // the rename could leave a complete-looking name over incomplete contents.
    if (::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        fail("flushing", error);
    }
    if (::close(fd) != 0) fail("closing", errno);

    std::error_code rename_error;
    std::filesystem::rename(temporary, path, rename_error);
    if (rename_error) {
        ::unlink(temporary.c_str());
        throw_file_error(where, path, "could not save: renaming '", temporary.string(), "' over it failed: ",
                         rename_error.message(), "; the existing file (if any) is unchanged");
    }
    // Persist the rename itself (the directory entry). Best effort: the file is complete either way.
    const auto directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
}

}  // namespace bijou
