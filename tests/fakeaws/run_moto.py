#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs moto's server on 127.0.0.1 with an ephemeral port, for tests.

moto is an independent emulator: its responses check that trustx talks the AWS
IoT API the way another implementation understands it. The certificate id is
made the SHA-256 of the DER (as AWS does) through moto's use_valid_cert
setting. The port is written to --port-file; the server runs until SIGTERM
or SIGINT arrives.
"""

import argparse
import logging
import os
import signal
import sys
import threading

try:
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer
except ImportError:
    sys.exit("run_moto: the Python package 'moto' (with its server extras) is not installed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    default_user_config["iot"] = {"use_valid_cert": True}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    with open(args.port_file + ".tmp", "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(args.port_file + ".tmp", args.port_file)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    server.stop()


if __name__ == "__main__":
    main()
