#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""trustx-sim front end and serve, driven by an independent IFX I2C client.

The client below has its own CRC, frame and data link code and talks to
`trustx-sim serve` through the documented wire format, on a unix socket and
on a 127.0.0.1 ephemeral TCP port. It also checks the init/show front end,
bad requests (status 2), several clients in a row and clean shutdown.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import traceback

SIM = os.environ.get("TRUSTX_SIM", "trustx-sim")
TMP = os.environ.get("TEST_TMP", "/tmp/test_sim_serve")
ADDR = 0x30
HANG_GUARD_S = 300          # whole-script guard against a hung server, not a timing check
SOCKET_TIMEOUT_S = 30
POLL_US = 1000              # host polling interval, virtual time
POLL_MAX = 5000             # polls before giving up: 5 s of virtual time
NACK_RETRIES = 200          # address NACK retries, 1 ms apart, as the Trust X host library

AID = bytes.fromhex("D276000004") + b"GenAuthAppl"


def crc16(data: bytes) -> int:
    """CRC-16 of the IFX I2C frame check sequence: poly 0x8408 reflected, init 0."""
    reg = 0
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0x8408 if reg & 1 else reg >> 1
    return reg


def make_frame(fctr: int, packet: bytes = b"") -> bytes:
    head = bytes([fctr, len(packet) >> 8, len(packet) & 0xFF]) + packet
    fcs = crc16(head)
    return head + bytes([fcs >> 8, fcs & 0xFF])


def fcs_ok(frame: bytes) -> bool:
    return len(frame) >= 5 and crc16(frame[:-2]) == (frame[-2] << 8 | frame[-1])


class Client:
    """One connection to trustx-sim serve, with a minimal host-side data link."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(SOCKET_TIMEOUT_S)
        self.tx = 3
        self.rx = 3

    def close(self):
        self.sock.close()

    def recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("server closed the connection")
            data += chunk
        return data

    def request(self, op: bytes, addr: int, length: int, data: bytes = b"") -> tuple:
        self.sock.sendall(op + bytes([addr]) + struct.pack(">H", length) + data)
        status, n = struct.unpack(">BH", self.recv_exact(3))
        return status, self.recv_exact(n)

    def write(self, data: bytes, addr: int = ADDR) -> int:
        status, payload = self.request(b"W", addr, len(data), data)
        assert payload == b"", payload
        return status

    def read(self, n: int, addr: int = ADDR) -> tuple:
        return self.request(b"R", addr, n)

    def sleep(self, us: int):
        status, payload = self.request(b"S", 0, 4, struct.pack(">I", us))
        assert (status, payload) == (0, b""), (status, payload)

    def write_retry(self, data: bytes):
        for _ in range(NACK_RETRIES):
            if self.write(data) == 0:
                return
            self.sleep(1000)
        raise AssertionError("chip never acknowledged a write of %s" % data[:4].hex())

    def reg_read(self, reg: int, n: int) -> bytes:
        self.write_retry(bytes([reg]))
        for _ in range(NACK_RETRIES):
            status, data = self.read(n)
            if status == 0:
                assert len(data) == n
                return data
            self.sleep(1000)
        raise AssertionError("chip never acknowledged a read of register %02x" % reg)

    def state(self) -> bytes:
        return self.reg_read(0x82, 4)

    def soft_reset(self):
        assert self.state()[0] & 0x08, "SOFT_RESET not supported"
        self.write_retry(b"\x88\x00\x00")
        self.sleep(12000)
        self.tx = self.rx = 3

    def resync(self):
        self.write_retry(b"\x80" + make_frame(0xC0))
        self.tx = self.rx = 3

    def poll_frame(self) -> bytes:
        for _ in range(POLL_MAX):
            st = self.state()
            length = st[2] << 8 | st[3]
            if st[0] & 0x40:
                assert 5 <= length <= 0x115, st.hex()
                frame = self.reg_read(0x80, length)
                assert fcs_ok(frame), frame.hex()
                return frame
            self.sleep(POLL_US)
        raise AssertionError("no frame from the chip")

    def transceive(self, apdu: bytes) -> bytes:
        """Sends a single-frame command and returns the response APDU."""
        assert len(apdu) <= 271
        self.tx = (self.tx + 1) & 3
        self.write_retry(b"\x80" + make_frame(self.tx << 2 | self.rx, b"\x00" + apdu))
        while True:
            frame = self.poll_frame()
            fctr = frame[0]
            if fctr & 0x80:
                assert fctr == 0x80 | self.tx, "unexpected control frame %s" % frame.hex()
                continue
            assert fctr & 0x03 == self.tx, "chip frame ACKNR %d, host sent %d" % (fctr & 3, self.tx)
            assert (fctr >> 2) & 3 == (self.rx + 1) & 3, "chip frame number out of order"
            self.rx = (fctr >> 2) & 3
            self.write_retry(b"\x80" + make_frame(0x80 | self.rx))
            assert frame[3] == 0x00, "chained or bad PCTR %02x" % frame[3]
            return frame[4:-2]

    def open_application(self):
        resp = self.transceive(bytes([0x70, 0x00, 0x00, 0x10]) + AID)
        assert resp == b"\x00\x00\x00\x00", resp.hex()

    def get_object(self, oid: int, length: int) -> bytes:
        resp = self.transceive(struct.pack(">BBHHHH", 0x01, 0x00, 6, oid, 0, length))
        assert resp[0] == 0x00, "GetDataObject %04x failed: %s" % (oid, resp.hex())
        out_len = resp[2] << 8 | resp[3]
        assert len(resp) == 4 + out_len
        return resp[4:]


def run(args, **kwargs):
    return subprocess.run([SIM] + args, capture_output=True, text=True, timeout=120, **kwargs)


def start_server(args) -> tuple:
    proc = subprocess.Popen([SIM, "-v", "serve"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError("server did not start: %s" % proc.stderr.read())
    return proc, line


def stop_server(proc, sig=signal.SIGTERM) -> int:
    proc.send_signal(sig)
    code = proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    return code


def connect_unix(path: str) -> Client:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return Client(sock)


def connect_tcp(port: int) -> Client:
    return Client(socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S))


def state_path(name: str) -> str:
    path = os.path.join(TMP, name)
    for stale in (path, path + ".lock"):
        if os.path.exists(stale):
            os.unlink(stale)
    return path


# ---- tests ----

def test_crc_known_answers():
    assert crc16(b"123456789") == 0x2189
    assert make_frame(0x80) == bytes.fromhex("8000000CEC")
    assert make_frame(0x03, b"\x00\x70\x00\x00\x10" + AID)[-2:] == b"\x04\x1A"


def test_cli_version_and_help():
    result = run(["--version"])
    assert result.returncode == 0, result
    assert result.stdout.startswith("trustx-sim "), result.stdout
    for command in ([], ["init"], ["serve"], ["show"]):
        result = run(command + ["--help"])
        assert result.returncode == 0, result
        assert "Usage: trustx-sim" in result.stdout, result.stdout


def test_cli_usage_errors():
    state = state_path("usage.state")
    cases = [
        ["bogus"],
        [],
        ["--bogus"],
        ["init"],
        ["init", state, "extra"],
        ["serve", state],
        ["serve", state, "--socket", os.path.join(TMP, "s"), "--tcp", "127.0.0.1:0"],
        ["serve", state, "--tcp", "0.0.0.0:0"],
        ["serve", state, "--tcp", "localhost:0"],
        ["serve", state, "--tcp", "127.0.0.1:70000"],
        ["serve", state, "--socket", os.path.join(TMP, "s"), "--port-file", "x"],
        ["serve", state, "--tcp", "127.0.0.1:0", "--faults", "bogus=1"],
        ["serve", state, "--tcp", "127.0.0.1:0", "--speed", "0"],
        ["serve", state, "--tcp"],
        ["show"],
        ["show", os.path.join(TMP, "missing.state")],
    ]
    for args in cases:
        result = run(args)
        assert result.returncode == 1, (args, result)
        assert result.stderr.startswith("trustx-sim: "), (args, result.stderr)
    result = run(["serve", state, "--tcp", "0.0.0.0:0"])
    assert "127.0.0.1" in result.stderr, result.stderr
    result = run(["serve", state, "--tcp", "127.0.0.1:0", "--faults", "bogus=1"])
    assert "bogus" in result.stderr, result.stderr


def test_cli_init_and_show():
    state = state_path("init.state")
    result = run(["init", state])
    assert result.returncode == 0, result
    assert os.path.exists(state)

    result = run(["init", state])
    assert result.returncode == 1, result
    assert "--force" in result.stderr, result.stderr

    result = run(["init", state, "--force"])
    assert result.returncode == 0, result

    result = run(["show", state])
    assert result.returncode == 0, result
    assert result.stdout.strip(), result
    result = run(["show", state, "--json"])
    assert result.returncode == 0, result
    json.loads(result.stdout)


def exercise_chip(client: Client) -> bytes:
    """OpenApplication, the UID and the comms buffer size; returns the UID."""
    client.open_application()
    uid = client.get_object(0xE0C2, 0x64)
    assert len(uid) == 27, uid.hex()
    assert client.get_object(0xE0C6, 0x10) == b"\x06\x15"
    return uid


def test_unix_socket_clients_in_turn():
    state = state_path("unix.state")
    sock_path = os.path.join(TMP, "sim.sock")
    proc, device = start_server([state, "--socket", sock_path])
    try:
        assert device == "socket:" + sock_path, device

        first = connect_unix(sock_path)
        first.soft_reset()
        assert first.state() == b"\x08\x00\x00\x00"
        assert first.reg_read(0x81, 2) == b"\x01\x15"
        uid = exercise_chip(first)
        first.close()

        # The same chip for the next client, which re-syncs instead of resetting.
        second = connect_unix(sock_path)
        second.resync()
        assert exercise_chip(second) == uid
        assert second.write(b"\x82", addr=0x31) == 1
        status, data = second.read(4, addr=0x31)
        assert (status, data) == (1, b"")
        second.close()

        check_bad_requests(sock_path)

        # A client that vanishes in the middle of a request does not stop the server.
        third = connect_unix(sock_path)
        third.sock.sendall(b"W\x30\x00\x10\x80")
        third.close()

        fourth = connect_unix(sock_path)
        fourth.resync()
        assert exercise_chip(fourth) == uid
        fourth.close()

        check_clients_wait_their_turn(sock_path)
        check_socket_path_guards(sock_path)
    finally:
        code = stop_server(proc)
    assert code == 0, code
    assert not os.path.exists(sock_path), "socket file left behind"


def check_bad_requests(sock_path: str):
    client = connect_unix(sock_path)
    assert client.request(b"R", ADDR, 5000) == (2, b"")
    assert client.request(b"S", 0, 3, b"\x00\x00\x01") == (2, b"")
    assert client.request(b"W", 0x80, 1, b"\x82") == (2, b"")
    assert client.request(b"W", ADDR, 5000, bytes(5000)) == (2, b"")
    # The connection is still in step after those.
    assert client.state()[0] & 0x08
    assert client.request(b"R", ADDR, 0) == (0, b"")
    # An unknown op cannot be framed: status 2, then the server hangs up.
    assert client.request(b"X", ADDR, 0) == (2, b"")
    assert client.sock.recv(1) == b""
    client.close()


def check_clients_wait_their_turn(sock_path: str):
    first = connect_unix(sock_path)
    second = connect_unix(sock_path)
    second.sock.sendall(b"R\x30\x00\x00")

    # The server is busy with the first client, so nothing comes back to the second.
    assert first.request(b"R", ADDR, 0) == (0, b"")
    readable, _, _ = select.select([second.sock], [], [], 0.2)
    assert readable == [], "second client served while the first was connected"

    first.close()
    assert second.recv_exact(3) == b"\x00\x00\x00"
    second.close()


def check_socket_path_guards(sock_path: str):
    # A second server on a live socket must not take it over.
    other_state = state_path("other.state")
    result = run(["serve", other_state, "--socket", sock_path])
    assert result.returncode == 2, result
    assert "another server" in result.stderr, result.stderr

    # A path that is not a socket is never removed.
    plain = os.path.join(TMP, "plain-file")
    with open(plain, "w") as f:
        f.write("keep me\n")
    result = run(["serve", other_state, "--socket", plain])
    assert result.returncode == 2, result
    with open(plain) as f:
        assert f.read() == "keep me\n"


def test_tcp_ephemeral_port_once():
    state = state_path("tcp.state")
    port_file = os.path.join(TMP, "port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc, device = start_server([state, "--tcp", "127.0.0.1:0", "--port-file", port_file,
                                 "--once"])
    try:
        with open(port_file) as f:
            port = int(f.read().strip())
        assert 0 < port < 65536
        assert device == "tcp:127.0.0.1:%d" % port, device

        client = connect_tcp(port)
        client.soft_reset()
        exercise_chip(client)
        client.close()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            stop_server(proc)
    assert code == 0, code
    assert not os.path.exists(port_file), "port file left behind"


def test_faults_reach_the_chip():
    state = state_path("faults.state")
    proc, device = start_server([state, "--tcp", "127.0.0.1:0", "--faults", "nackevery=3"])
    try:
        client = connect_tcp(int(device.rsplit(":", 1)[1]))
        statuses = [client.write(b"") for _ in range(12)]
        client.close()
    finally:
        code = stop_server(proc, signal.SIGINT)
    assert statuses == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0], statuses
    assert code == 0, code


TESTS = [
    test_crc_known_answers,
    test_cli_version_and_help,
    test_cli_usage_errors,
    test_cli_init_and_show,
    test_unix_socket_clients_in_turn,
    test_tcp_ephemeral_port_once,
    test_faults_reach_the_chip,
]


def main() -> int:
    os.makedirs(TMP, exist_ok=True)
    signal.alarm(HANG_GUARD_S)
    passed = failed = 0
    for test in TESTS:
        try:
            test()
        except Exception:
            failed += 1
            print("FAIL %s" % test.__name__)
            traceback.print_exc()
        else:
            passed += 1
            print("ok   %s" % test.__name__)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
