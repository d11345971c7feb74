"""Opens N keep-alive connections to an HTTP server, sends one GET on each and reads the
answer, then holds them all open and prints the server's resident memory.

Usage: idle_connections.py PORT PATH SERVER_PID [COUNT] [HOLD_SECONDS]
Prints: rss_kib_before=<n> rss_kib_with_idle=<n> connections=<n>
The server PID may be a comma-separated list (nginx master and worker); RSS is summed.
"""
import resource
import socket
import sys
import time


def rss_kib(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed inside the body")
        body += chunk


def main():
    port, path, pids = int(sys.argv[1]), sys.argv[2], [int(p) for p in sys.argv[3].split(",")]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    hold = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 100)), hard))

    before = rss_kib(pids)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        read_response(sock)
        sockets.append(sock)
    time.sleep(hold)
    after = rss_kib(pids)
    print(f"rss_kib_before={before} rss_kib_with_idle={after} connections={len(sockets)}")
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
