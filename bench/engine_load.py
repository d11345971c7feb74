"""Load generator for bench/engine.sh: posts events to /api/v4.1/event/async over keep-alive
connections, either as fast as the connections allow or paced at a fixed offered rate.

Usage:
  engine_load.py setup PORT TOKEN PREFIX COUNT CONNECTIONS
      creates COUNT orders PREFIX-HD-n (CREATE, booked) and fulfilments PREFIX-F-n (CREATE,
      awaiting pick), n = 1..COUNT
  engine_load.py paced PORT TOKEN PREFIX FIRST COUNT RATE CONNECTIONS
      posts ConfirmPick for fulfilments FIRST..FIRST+COUNT-1 at RATE events/s in total
  engine_load.py inventory PORT TOKEN COUNT CONNECTIONS POSITIONS
      posts COUNT InventoryDelta events of +1 or -1 over POSITIONS positions of one catalogue
Prints one JSON line with what it sent.
"""
import json
import random
import socket
import sys
import threading
import time


class Connection:
    def __init__(self, port, token):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.token = token
        self.buffer = b""

    def post(self, body):
        data = body.encode()
        head = ("POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Authorization: Bearer {self.token}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
        self.sock.sendall(head + data)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        head_end = self.buffer.index(b"\r\n\r\n") + 4
        head_text = self.buffer[:head_end].decode("latin-1")
        length = 0
        for line in head_text.split("\r\n"):
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        while len(self.buffer) < head_end + length:
            self.buffer += self.sock.recv(65536)
        status = int(head_text.split(" ", 2)[1])
        self.buffer = self.buffer[head_end + length:]
        return status


def order_events(prefix, n):
    order = {"name": "CREATE", "retailerId": "1", "entityType": "ORDER", "entitySubtype": "HD",
             "entityRef": f"{prefix}-HD-{n}", "rootEntityType": "ORDER", "rootEntityRef": f"{prefix}-HD-{n}",
             "attributes": {"customerRef": "C-1", "totalPrice": 10.5}}
    fulfilment = {"name": "CREATE", "retailerId": "1", "entityType": "FULFILMENT", "entityRef": f"{prefix}-F-{n}",
                  "rootEntityType": "ORDER", "rootEntityRef": f"{prefix}-HD-{n}", "attributes": {"locationRef": "DC-1"}}
    return [json.dumps(order), json.dumps(fulfilment)]


def confirm_pick(prefix, n):
    return json.dumps({"name": "ConfirmPick", "retailerId": "1", "entityType": "FULFILMENT", "entityRef": f"{prefix}-F-{n}",
                       "rootEntityType": "ORDER", "rootEntityRef": f"{prefix}-HD-{n}",
                       "attributes": {"pickedItems": [{"skuRef": "SKU-1", "quantity": 2}], "pickedBy": "WMS"}})


def run_threads(connections, work):
    errors = []
    threads = [threading.Thread(target=lambda i=i: work(i, errors)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def setup(port, token, prefix, count, connections):
    def work(index, errors):
        connection = Connection(port, token)
        for n in range(index + 1, count + 1, connections):
            for body in order_events(prefix, n):
                status = connection.post(body)
                if status != 200:
                    errors.append(status)
    started = time.time()
    errors = run_threads(connections, work)
    print(json.dumps({"posted": 2 * count, "errors": len(errors), "seconds": round(time.time() - started, 3)}))


def paced(port, token, prefix, first, count, rate, connections):
    interval = connections / rate
    started = time.time() + 0.2

    def work(index, errors):
        connection = Connection(port, token)
        sent = 0
        for n in range(first + index, first + count, connections):
            due = started + sent * interval + index * interval / connections
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            if connection.post(confirm_pick(prefix, n)) != 200:
                errors.append(n)
            sent += 1
    errors = run_threads(connections, work)
    elapsed = time.time() - started
    print(json.dumps({"posted": count, "errors": len(errors), "seconds": round(elapsed, 3),
                      "offeredRate": rate, "achievedRate": round(count / elapsed, 1)}))


def inventory(port, token, count, connections, positions):
    def work(index, errors):
        connection = Connection(port, token)
        generator = random.Random(index)
        share = count // connections + (1 if index < count % connections else 0)
        for _ in range(share):
            body = json.dumps({"name": "InventoryDelta", "retailerId": "1", "entityType": "INVENTORY_POSITION",
                               "entityRef": f"SKU-{generator.randrange(positions)}:DC-SYD",
                               "rootEntityType": "INVENTORY_CATALOGUE", "rootEntityRef": "DEFAULT:1",
                               "attributes": {"delta": generator.choice([1, -1]), "reason": "BENCH"}})
            if connection.post(body) != 200:
                errors.append(1)
    started = time.time()
    errors = run_threads(connections, work)
    print(json.dumps({"posted": count, "errors": len(errors),
                      "seconds": round(time.time() - started, 3)}))


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(int(arguments[0]), arguments[1], arguments[2], int(arguments[3]), int(arguments[4]))
    elif command == "paced":
        paced(int(arguments[0]), arguments[1], arguments[2], int(arguments[3]), int(arguments[4]), float(arguments[5]),
              int(arguments[6]))
    elif command == "inventory":
        inventory(int(arguments[0]), arguments[1], int(arguments[2]), int(arguments[3]), int(arguments[4]))
    else:
        sys.exit(f"unknown command {command}: use setup, paced or inventory")
