#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Emulate an FTDI FT260 USB-HID to I2C bridge in front of a simulated chip, for tests.

The emulator listens on a unix socket, plays the FT260's HID reports for I2C
(FTDI AN_394) towards one client at a time (trustx with "ft260:emu=SOCKET"),
and turns every complete I2C transaction into a request to a
"trustx-sim serve STATE --socket SIM" process. It checks what the client
sends as strictly as it can and logs every rule the client breaks as a
"violation" line, so tests can assert there were none.

Framing on the emulator socket; every length is big-endian:

  client -> emulator   kind(1) len(2) data
      'O'  output report; data = the report, report ID first
      'I'  wait for an input report; data = timeout in ms (2 bytes). The
           emulator works synchronously, so it replies at once either way.
      'G'  get feature report; data = report ID(1), maximum length(1)
      'F'  set feature report; data = the report, report ID first
  emulator -> client   result(1) len(2) data
      0  done; data = the report for 'I' and 'G', empty otherwise
      1  no input report pending ('I' only)
      2  rejected, as a real device would stall the request; data = reason
      3  busy; sent instead of the greeting when another client is connected

On connect the emulator sends a greeting: result 0 with "FT260EMU 1", or
result 3 and closes the connection.

Towards the simulator it uses the trustx-sim wire format: request op(1)
addr(1) len(2) [data], ops 'W' write, 'R' read, 'S' the host waited (data:
4-byte microseconds); reply status(1) len(2) [data], status 0 ACK, 1 NACK,
2 bad request. Unless --no-time is given, the wall time that passed since
the previous simulator request is sent as 'S' first, so the simulated chip
ages as fast as the real clock the client uses.

Bridge faults (--fault): "nack" NACKs every transaction, "busy" keeps the
bus busy whatever the client does, "noanswer" greets and then never replies.
"""

import argparse
import collections
import os
import selectors
import signal
import socket
import struct
import sys
import time

VID, PID = 0x0403, 0x6030

REPORT_CHIP_VERSION = 0xA0
REPORT_SYSTEM_SETTINGS = 0xA1
REPORT_I2C_STATUS = 0xC0
REPORT_I2C_READ_REQUEST = 0xC2
REPORT_I2C_DATA_FIRST = 0xD0
REPORT_I2C_DATA_LAST = 0xDE

REQUEST_SET_CLOCK_CTL = 0x01
REQUEST_SET_I2C_MODE = 0x02
REQUEST_I2C_RESET = 0x20
REQUEST_SET_I2C_CLOCK = 0x22

I2C_NONE, I2C_START, I2C_REPEATED_START, I2C_STOP = 0x00, 0x02, 0x03, 0x04
I2C_START_AND_STOP = 0x06

CONTROLLER_BUSY = 0x01
ERROR = 0x02
ADDRESS_NACK = 0x04
DATA_NACK = 0x08
ARBITRATION_LOST = 0x10
CONTROLLER_IDLE = 0x20
BUS_BUSY = 0x40

INPUT_PAYLOAD_MAX = 60          # the FT260 sends at most 60 data bytes per input report
CLOCK_MIN_KHZ, CLOCK_MAX_KHZ = 60, 3400
DEFAULT_CLOCK_KHZ = 100

RESULT_DONE, RESULT_NO_REPORT, RESULT_REJECTED, RESULT_BUSY = 0, 1, 2, 3
GREETING = b"FT260EMU 1"

SIM_ACK, SIM_NACK, SIM_BAD_REQUEST = 0, 1, 2
SIM_CONNECT_TRIES = 10          # the simulator may still be starting; stays under the
                                # client's 2 s reply timeout
SIM_CONNECT_PAUSE_S = 0.1
SIM_REPLY_TIMEOUT_S = 1.5       # a hung simulator turns into a NACK before the client gives up
SIM_WAIT_MAX_US = 0xFFFFFFFF


def data_report_capacity(report_id):
    """Payload bytes of I2C data report ID report_id: 4 for 0xD0, 60 for 0xDE."""
    return 4 * (report_id - REPORT_I2C_DATA_FIRST + 1)


class Rejected(Exception):
    """A request the device would stall; the text goes back to the client."""


class Log:
    """Line-oriented event log, flushed at once so a test can read it while we run."""

    def __init__(self, path):
        self.out = open(path, "a", buffering=1) if path else sys.stderr
        self.violations = 0

    def event(self, text):
        self.out.write("ft260emu: %s\n" % text)
        self.out.flush()

    def violation(self, text):
        self.violations += 1
        self.event("violation: " + text)


class SimLink:
    """Client of trustx-sim serve; one connection for the emulator's lifetime."""

    def __init__(self, path, log, forward_time):
        self.path = path
        self.log = log
        self.forward_time = forward_time
        self.sock = None
        self.last = time.monotonic()

    def _connect(self):
        for _ in range(SIM_CONNECT_TRIES):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(SIM_REPLY_TIMEOUT_S)
                sock.connect(self.path)
                self.sock = sock
                return
            except OSError:
                sock.close()
                time.sleep(SIM_CONNECT_PAUSE_S)
        raise OSError("cannot connect to the simulator at %s" % self.path)

    def _recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise OSError("the simulator closed the connection")
            data += chunk
        return data

    def _exchange(self, op, addr, length, payload=b""):
        if self.sock is None:
            self._connect()
        self.sock.sendall(struct.pack(">BBH", op, addr, length) + payload)
        status, reply_len = struct.unpack(">BH", self._recv(3))
        return status, self._recv(reply_len)

    def _forward_time(self):
        now = time.monotonic()
        elapsed_us = int((now - self.last) * 1e6)
        self.last = now
        if self.forward_time and elapsed_us > 0:
            self._exchange(ord("S"), 0, 4, struct.pack(">I", min(elapsed_us, SIM_WAIT_MAX_US)))

    def write(self, addr, data):
        self._forward_time()
        status, _ = self._exchange(ord("W"), addr, len(data), data)
        return status

    def read(self, addr, length):
        self._forward_time()
        return self._exchange(ord("R"), addr, length)


class Bridge:
    """The FT260's I2C side: reports in, transactions out, status and input reports back."""

    def __init__(self, args, sim, log):
        self.sim = sim
        self.log = log
        self.fault = args.fault
        self.nack_first = args.nack_first
        self.stuck_resets = args.stuck_resets
        self.chip_mode = args.chip_mode
        self.i2c_enabled = not args.i2c_disabled
        self.clock_khz = DEFAULT_CLOCK_KHZ
        self.status = CONTROLLER_IDLE
        self.pending = None          # (addr, bytearray) of a write awaiting STOP
        self.inputs = collections.deque()
        self.counts = collections.Counter()

    # Status ---------------------------------------------------------------

    def bus_status(self):
        if self.fault == "busy" or self.stuck_resets > 0:
            return CONTROLLER_IDLE | BUS_BUSY
        return self.status

    def status_report(self):
        return bytes([REPORT_I2C_STATUS, self.bus_status()]) + struct.pack("<H", self.clock_khz) \
            + b"\x00"

    def settings_report(self):
        fields = [REPORT_SYSTEM_SETTINGS, self.chip_mode, 2, 0, 1, int(self.i2c_enabled), 0]
        return bytes(fields + [0] * 8 + [0] * 10)

    def fail(self, bits, text):
        self.status = CONTROLLER_IDLE | ERROR | bits
        self.pending = None
        self.log.violation(text)

    # Transactions ---------------------------------------------------------

    def nack_now(self):
        """Decides whether a fault NACKs the transaction that starts now."""
        if self.fault == "nack":
            return True
        if self.nack_first > 0:
            self.nack_first -= 1
            return True
        return False

    def finish(self, what, addr, sim_status, length):
        self.counts["transactions"] += 1
        if sim_status == SIM_ACK:
            self.status = CONTROLLER_IDLE
            self.log.event("%s 0x%02x %d bytes: ack" % (what, addr, length))
        elif sim_status == SIM_NACK:
            self.counts["nacks"] += 1
            self.status = CONTROLLER_IDLE | ERROR | ADDRESS_NACK
            self.log.event("%s 0x%02x %d bytes: nack" % (what, addr, length))
        else:
            self.fail(0, "simulator rejected %s of %d bytes at 0x%02x as malformed"
                      % (what, length, addr))

    def can_start(self, what):
        if not self.i2c_enabled:
            self.fail(0, "%s while I2C is disabled; enable it with report 0xA1 request 0x02"
                      % what)
            return False
        if self.bus_status() & BUS_BUSY and self.pending is None:
            self.status = CONTROLLER_IDLE | BUS_BUSY | ERROR | ARBITRATION_LOST
            self.log.event("%s on a busy bus: arbitration lost" % what)
            return False
        return True

    def write_report(self, report):
        report_id = report[0]
        if len(report) < 4:
            raise Rejected("write report of %d bytes is shorter than its header" % len(report))
        addr, flags, length = report[1], report[2], report[3]
        data = bytes(report[4:4 + length])

        if length == 0 or length > data_report_capacity(report_id) or len(report) < 4 + length:
            self.fail(0, "write report 0x%02x has length %d (capacity %d, report %d bytes)"
                      % (report_id, length, data_report_capacity(report_id), len(report)))
            return
        if addr > 0x7F:
            self.fail(0, "address 0x%02x is not a 7-bit address" % addr)
            return
        if flags & I2C_REPEATED_START == I2C_REPEATED_START:
            self.fail(0, "write with a repeated start (flags 0x%02x); the Trust X has none"
                      % flags)
            return
        if flags not in (I2C_NONE, I2C_START, I2C_STOP, I2C_START_AND_STOP):
            self.fail(0, "write with invalid flags 0x%02x" % flags)
            return

        if flags & I2C_START:
            if self.pending is not None:
                self.fail(0, "write START while the previous write at 0x%02x has no STOP"
                          % self.pending[0])
                return
            if not self.can_start("write"):
                return
            if self.nack_now():
                self.counts["transactions"] += 1
                self.counts["nacks"] += 1
                self.status = CONTROLLER_IDLE | ERROR | ADDRESS_NACK
                self.log.event("write 0x%02x: nack (fault)" % addr)
                return
            self.pending = (addr, bytearray())
        elif self.pending is None:
            self.fail(0, "write report without START and no write in progress")
            return
        elif self.pending[0] != addr:
            self.fail(0, "write continues at 0x%02x but started at 0x%02x"
                      % (addr, self.pending[0]))
            return

        self.pending[1].extend(data)
        self.counts["write_reports"] += 1
        if not flags & I2C_STOP:
            self.status = CONTROLLER_IDLE | BUS_BUSY
            return

        addr, payload = self.pending
        self.pending = None
        try:
            status = self.sim.write(addr, bytes(payload))
        except OSError as e:
            status = self.sim_lost(e)
        self.finish("write", addr, status, len(payload))

    def read_request(self, report):
        if len(report) < 5:
            raise Rejected("read request of %d bytes is shorter than 5" % len(report))
        addr, flags = report[1], report[2]
        length = report[3] | (report[4] << 8)

        if self.pending is not None:
            self.fail(0, "read request while a write at 0x%02x has no STOP (a repeated start)"
                      % self.pending[0])
            return
        if flags != I2C_START_AND_STOP:
            self.fail(0, "read request with flags 0x%02x; the emulator takes only whole "
                      "transactions (START_AND_STOP)" % flags)
            return
        if length == 0 or addr > 0x7F:
            self.fail(0, "read request of %d bytes at 0x%02x" % (length, addr))
            return
        if not self.can_start("read"):
            return
        if self.nack_now():
            self.counts["transactions"] += 1
            self.counts["nacks"] += 1
            self.status = CONTROLLER_IDLE | ERROR | ADDRESS_NACK
            self.log.event("read 0x%02x: nack (fault)" % addr)
            return

        try:
            status, data = self.sim.read(addr, length)
        except OSError as e:
            status, data = self.sim_lost(e), b""
        if status == SIM_ACK and len(data) != length:
            self.fail(0, "simulator returned %d of %d bytes" % (len(data), length))
            return
        self.finish("read", addr, status, length)
        if status != SIM_ACK:
            return
        for offset in range(0, length, INPUT_PAYLOAD_MAX):
            chunk = data[offset:offset + INPUT_PAYLOAD_MAX]
            report_id = REPORT_I2C_DATA_FIRST + (len(chunk) - 1) // 4
            pad = data_report_capacity(report_id) - len(chunk)
            self.inputs.append(bytes([report_id, len(chunk)]) + chunk + b"\x00" * pad)

    def sim_lost(self, error):
        """Reports a NACK, because without a simulator no chip acknowledges its address."""
        if self.sim.sock is not None:
            self.sim.sock.close()
            self.sim.sock = None
        self.log.event("simulator unreachable (%s); the transaction is NACKed" % error)
        return SIM_NACK

    # HID requests ---------------------------------------------------------

    def output(self, report):
        if not report:
            raise Rejected("empty output report")
        self.counts["output_reports"] += 1
        if REPORT_I2C_DATA_FIRST <= report[0] <= REPORT_I2C_DATA_LAST:
            self.write_report(report)
        elif report[0] == REPORT_I2C_READ_REQUEST:
            self.read_request(report)
        else:
            raise Rejected("output report ID 0x%02x is not an I2C request" % report[0])

    def get_feature(self, report_id, cap):
        if report_id == REPORT_I2C_STATUS:
            report = self.status_report()
        elif report_id == REPORT_SYSTEM_SETTINGS:
            report = self.settings_report()
        elif report_id == REPORT_CHIP_VERSION:
            report = bytes([REPORT_CHIP_VERSION, 0x02, 0x60, 0x02, 0x00]) + b"\x00" * 8
        else:
            raise Rejected("feature report ID 0x%02x is not supported" % report_id)
        return report[:cap]

    def set_feature(self, report):
        if len(report) < 2 or report[0] != REPORT_SYSTEM_SETTINGS:
            raise Rejected("set feature report %s is not a system setting" % report[:2].hex())
        request = report[1]
        if request == REQUEST_I2C_RESET:
            self.counts["resets"] += 1
            self.pending = None
            self.inputs.clear()
            self.status = CONTROLLER_IDLE
            if self.stuck_resets > 0:
                self.stuck_resets -= 1
            self.log.event("i2c reset")
        elif request == REQUEST_SET_I2C_CLOCK and len(report) >= 4:
            khz = report[2] | (report[3] << 8)
            if not CLOCK_MIN_KHZ <= khz <= CLOCK_MAX_KHZ:
                raise Rejected("I2C clock %d kHz is outside %d..%d" % (khz, CLOCK_MIN_KHZ,
                                                                      CLOCK_MAX_KHZ))
            self.clock_khz = khz
            self.log.event("clock %d kHz" % khz)
        elif request == REQUEST_SET_I2C_MODE and len(report) >= 3:
            self.i2c_enabled = report[2] != 0
            self.log.event("i2c %s" % ("enabled" if self.i2c_enabled else "disabled"))
        elif request == REQUEST_SET_CLOCK_CTL and len(report) >= 3:
            self.log.event("system clock setting %d" % report[2])
        else:
            raise Rejected("system setting request 0x%02x (%d bytes) is not supported"
                           % (request, len(report)))

    def summary(self):
        c = self.counts
        return ("summary: transactions=%d nacks=%d resets=%d output_reports=%d violations=%d"
                % (c["transactions"], c["nacks"], c["resets"], c["output_reports"],
                   self.log.violations))


class Client:
    """One connected client and its partial request."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""


def frame(result, data=b""):
    return struct.pack(">BH", result, len(data)) + data


def handle(bridge, kind, data):
    """Runs one request; returns the reply frame."""
    try:
        if kind == ord("O"):
            bridge.output(data)
            return frame(RESULT_DONE)
        if kind == ord("I"):
            if bridge.inputs:
                return frame(RESULT_DONE, bridge.inputs.popleft())
            return frame(RESULT_NO_REPORT)
        if kind == ord("G") and len(data) == 2:
            return frame(RESULT_DONE, bridge.get_feature(data[0], data[1]))
        if kind == ord("F"):
            bridge.set_feature(data)
            return frame(RESULT_DONE)
        raise Rejected("unknown request kind 0x%02x with %d bytes" % (kind, len(data)))
    except Rejected as e:
        bridge.log.event("rejected: %s" % e)
        return frame(RESULT_REJECTED, str(e).encode())


def serve(args, bridge, log):
    try:
        os.unlink(args.listen)
    except FileNotFoundError:
        pass
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(args.listen)
    server.listen(4)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    client = None
    stopping = []

    def stop(signum, frame_):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.event("listening on %s, simulator %s, fault %s" % (args.listen, args.sim,
                                                          args.fault or "none"))

    while not stopping:
        for key, _ in sel.select(timeout=0.2):
            if key.fileobj is server:
                sock, _ = server.accept()
                if client is not None:
                    sock.sendall(frame(RESULT_BUSY, b"busy"))
                    sock.close()
                    log.event("refused a second client: busy")
                    continue
                client = Client(sock)
                sel.register(sock, selectors.EVENT_READ)
                sock.sendall(frame(RESULT_DONE, GREETING))
                log.event("client connected")
                continue

            chunk = client.sock.recv(4096)
            if not chunk:
                sel.unregister(client.sock)
                client.sock.close()
                client = None
                log.event("client disconnected")
                continue
            client.buf += chunk
            while len(client.buf) >= 3:
                kind, length = struct.unpack(">BH", client.buf[:3])
                if len(client.buf) < 3 + length:
                    break
                data, client.buf = client.buf[3:3 + length], client.buf[3 + length:]
                if args.fault == "noanswer":
                    continue
                client.sock.sendall(handle(bridge, kind, data))

    log.event(bridge.summary())
    server.close()
    os.unlink(args.listen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="unix socket to serve the bridge on")
    parser.add_argument("--sim", required=True, help="unix socket of 'trustx-sim serve'")
    parser.add_argument("--fault", choices=["nack", "busy", "noanswer"],
                        help="bridge fault: NACK everything, bus stuck busy, or never reply")
    parser.add_argument("--nack-first", type=int, default=0, metavar="N",
                        help="NACK the first N transactions, then pass them on")
    parser.add_argument("--stuck-resets", type=int, default=0, metavar="N",
                        help="report a busy bus until the client resets the controller N times")
    parser.add_argument("--chip-mode", type=int, default=3, choices=[0, 1, 2, 3],
                        help="DCNF1:DCNF0 strapping reported in system settings (2 = UART only)")
    parser.add_argument("--i2c-disabled", action="store_true",
                        help="start with the I2C function disabled")
    parser.add_argument("--no-time", action="store_true",
                        help="do not forward wall time to the simulator")
    parser.add_argument("--log", help="append events to this file instead of stderr")
    args = parser.parse_args()

    log = Log(args.log)
    sim = SimLink(args.sim, log, not args.no_time)
    bridge = Bridge(args, sim, log)
    serve(args, bridge, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
