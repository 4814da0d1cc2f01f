"""Shell fragments for the snapshots that prove a refused run changed nothing on a host."""

CONSUL_BINARY = "/usr/local/bin/consul"


def file_identity(*paths):
    """A shell command printing each file's inode, size, and modification and change times (through links).

    Replacing a file gives it a new inode, and writing to it or changing its mode or owner moves its
    times, so this shows any change to a large binary without reading it: hashing the 68 MB Consul
    binary before and after every bad-input case, on every host, cost about 0.4 CPU-seconds a read.
    """
    return "stat -L -c '%%n inode=%%i size=%%s mtime=%%y ctime=%%z' %s;" % " ".join(paths)
