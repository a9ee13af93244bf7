#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""trustx personalize --aws on simulated chips against the fake AWS IoT server and moto.

Both servers run on 127.0.0.1 with ephemeral ports. Every trustx run gets
AWS_ENDPOINT_URL for one of them and TRUSTX_AWS_REQUIRE_ENDPOINT=1, so nothing
can reach AWS. The cloud state is read back with botocore and the fake
server's control API; the chip state with trustx-sim show.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

SOURCE = os.environ["TRUSTX_SOURCE_DIR"]
TRUSTX = os.environ["TRUSTX"]
TRUSTX_SIM = os.environ["TRUSTX_SIM"]
TMP = os.environ["TEST_TMP"]
START_POLLS = 300                  # port-file polls, 0.1 s apart
KEY_ID = "AKIDTRUSTXPERSO000001"
SECRET = "perso/Test+Secret/Key0000000000000000000001"
REGION = "eu-west-1"
ACCOUNT = "456789012345"


def start_server(args, port_file):
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc = subprocess.Popen([sys.executable] + args + ["--port-file", port_file],
                            stdout=subprocess.DEVNULL)
    for _ in range(START_POLLS):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            with open(port_file, encoding="ascii") as f:
                return proc, f"http://127.0.0.1:{int(f.read())}"
        if proc.poll() is not None:
            raise RuntimeError(f"{args[0]} exited with status {proc.returncode}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{args[0]} did not write {port_file}")


def stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def writes(state):
    out = subprocess.run([TRUSTX_SIM, "show", state, "--json"], capture_output=True, text=True,
                         check=True).stdout
    return {o["oid"]: o["writes"] for o in json.loads(out)["objects"]}


class PersonalizeAwsTest(unittest.TestCase):
    url = None
    server = None

    @classmethod
    def setUpClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        cls.server, cls.url = start_server(
            [os.path.join(SOURCE, "tests", "fakeaws", "fake_iot.py"), "--region", REGION,
             "--account", ACCOUNT, "--access-key", KEY_ID, "--secret-key", SECRET],
            os.path.join(TMP, "fake.port"))

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def setUp(self):
        self.control("reset", {})

    def control(self, action, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_fake/{action}", data=data,
                                     method="GET" if body is None else "POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as resp:
            return json.load(resp)

    def env(self, url=None, **changes):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_REGION": REGION, "AWS_ENDPOINT_URL": url or self.url,
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(TMP, "no-credentials"),
                    "AWS_CONFIG_FILE": os.path.join(TMP, "no-config"),
                    "HOME": TMP, "TRUSTX_AWS_REQUIRE_ENDPOINT": "1",
                    "TRUSTX_AWS_RETRY_BASE_MS": "1"})
        for key, value in changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def new_chip(self, name):
        state = os.path.join(TMP, f"{name}.json")
        for path in (state, state + ".lock"):
            if os.path.exists(path):
                os.unlink(path)
        subprocess.run([TRUSTX_SIM, "init", state], check=True, capture_output=True)
        return state

    def personalize(self, state, thing, env=None, *extra):
        out_dir = os.path.join(TMP, f"out-{thing}")
        return subprocess.run(
            [TRUSTX, "-d", f"sim:{state}", "--json", "personalize", "--aws", "--thing", thing,
             "--subject", f"/CN={thing}/O=trustx test", "--out-dir", out_dir, *extra],
            capture_output=True, text=True, env=env or self.env(), timeout=600)

    def botocore_client(self):
        import botocore.session
        session = botocore.session.get_session()
        return session.create_client("iot", region_name=REGION, endpoint_url=self.url,
                                     aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)

    def chip_cert(self, state):
        run = subprocess.run([TRUSTX, "-d", f"sim:{state}", "cert", "read"],
                             capture_output=True, text=True, check=True)
        return run.stdout

    def test_full_flow_then_rerun_changes_nothing(self):
        state = self.new_chip("full")
        run = self.personalize(state, "dev-full")
        self.assertEqual(run.returncode, 0, run.stderr)
        summary = json.loads(run.stdout)
        cert_arn = summary["cloud"]["certificate_arn"]
        cert_id = summary["cloud"]["certificate_id"]

        iot = self.botocore_client()
        desc = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
        self.assertEqual(desc["status"], "ACTIVE")
        self.assertIn(cert_arn, iot.list_thing_principals(thingName="dev-full")["principals"])
        policies = iot.list_attached_policies(target=cert_arn)["policies"]
        self.assertEqual(len(policies), 1)
        document = iot.get_policy(policyName=policies[0]["policyName"])["policyDocument"]
        self.assertNotIn('"iot:*"', document)
        self.assertNotIn('"Resource": "*"', document)
        # The chip holds exactly the certificate AWS issued.
        self.assertEqual(self.chip_cert(state).strip(), desc["certificatePem"].strip())

        issued = self.control("state")["counts"]["certificates_issued"]
        before = writes(state)
        again = self.personalize(state, "dev-full")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(self.control("state")["counts"]["certificates_issued"], issued)
        self.assertEqual(writes(state), before)
        self.assertEqual(json.loads(again.stdout)["cloud"]["certificate_id"], cert_id)

    def test_two_throttles_on_every_operation(self):
        state = self.new_chip("throttle")
        self.control("faults", {"throttle": {"*": 2}})
        run = self.personalize(state, "dev-throttle")
        self.assertEqual(run.returncode, 0, run.stderr)
        cert_id = json.loads(run.stdout)["cloud"]["certificate_id"]
        self.assertEqual(self.control("state")["certificates"][cert_id]["status"], "ACTIVE")

    def test_missing_credentials_leave_chip_untouched(self):
        state = self.new_chip("nocreds")
        before = writes(state)
        env = self.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
        run = self.personalize(state, "dev-nocreds", env)
        self.assertEqual(run.returncode, 5, run.stderr)
        self.assertIn("AWS_ACCESS_KEY_ID", run.stderr)
        self.assertEqual(writes(state), before)

    def test_unreachable_endpoint_leaves_chip_untouched(self):
        state = self.new_chip("unreachable")
        before = writes(state)
        run = self.personalize(state, "dev-unreachable",
                               self.env(url=f"http://127.0.0.1:{closed_port()}"))
        self.assertEqual(run.returncode, 5, run.stderr)
        self.assertIn("before touching the chip", run.stderr)
        self.assertEqual(writes(state), before)

    def test_second_chip_on_one_thing_is_refused(self):
        first = self.new_chip("shared-a")
        run = self.personalize(first, "dev-shared")
        self.assertEqual(run.returncode, 0, run.stderr)
        second = self.new_chip("shared-b")
        run = self.personalize(second, "dev-shared")
        self.assertEqual(run.returncode, 5, run.stderr)
        self.assertIn("another device", run.stderr)
        # Found before a key is generated for nothing.
        self.assertEqual(writes(second)["E0F1"], 0)
        self.assertEqual(writes(second)["E0E1"], 0)
        run = self.personalize(second, "dev-shared", None, "--force")
        self.assertEqual(run.returncode, 0, run.stderr)
        iot = self.botocore_client()
        self.assertEqual(len(iot.list_thing_principals(thingName="dev-shared")["principals"]), 2)

    def test_revoked_certificate_is_replaced_on_rerun(self):
        state = self.new_chip("revoked")
        run = self.personalize(state, "dev-revoked")
        self.assertEqual(run.returncode, 0, run.stderr)
        first_id = json.loads(run.stdout)["cloud"]["certificate_id"]
        self.botocore_client().update_certificate(certificateId=first_id, newStatus="REVOKED")
        again = self.personalize(state, "dev-revoked")
        self.assertEqual(again.returncode, 0, again.stderr)
        second_id = json.loads(again.stdout)["cloud"]["certificate_id"]
        self.assertNotEqual(second_id, first_id)
        desc = self.botocore_client().describe_certificate(
            certificateId=second_id)["certificateDescription"]
        self.assertEqual(desc["status"], "ACTIVE")
        self.assertEqual(self.chip_cert(state).strip(), desc["certificatePem"].strip())

    def test_bad_or_wide_policy_leaves_chip_untouched(self):
        state = self.new_chip("policy")
        before = writes(state)
        run = self.personalize(state, "dev-policy", None, "--policy", "bad policy!")
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertEqual(writes(state), before)
        self.botocore_client().create_policy(
            policyName="wide", policyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "IOT:*", "Resource": "*"}]}))
        run = self.personalize(state, "dev-policy", None, "--policy", "wide")
        self.assertEqual(run.returncode, 5, run.stderr)
        self.assertIn("wildcard", run.stderr)
        self.assertEqual(writes(state), before)
        self.assertEqual(self.control("state")["counts"]["certificates_issued"], 0)

    def test_invalid_thing_name_leaves_chip_untouched(self):
        state = self.new_chip("badthing")
        before = writes(state)
        run = self.personalize(state, "has space")
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("thing name 'has space' is invalid", run.stderr)
        self.assertEqual(writes(state), before)
        self.assertEqual(self.control("state")["counts"]["certificates_issued"], 0)

    def test_certificate_for_another_key_is_refused_and_revoked(self):
        state = self.new_chip("wrongkey")
        self.control("faults", {"wrong_key": 1})
        run = self.personalize(state, "dev-wrongkey")
        self.assertEqual(run.returncode, 4, run.stderr)
        self.assertEqual(writes(state)["E0E1"], 0)
        statuses = [c["status"] for c in self.control("state")["certificates"].values()]
        self.assertEqual(statuses, ["REVOKED"])

    def test_locked_certificate_slot_is_found_first(self):
        state = self.new_chip("locked")
        subprocess.run([TRUSTX, "-d", f"sim:{state}", "object", "metadata", "E0E1", "--set",
                        "lcso=op", "--yes"], check=True, capture_output=True)
        before = writes(state)
        run = self.personalize(state, "dev-locked")
        self.assertEqual(run.returncode, 3, run.stderr)
        self.assertIn("writing a certificate into 0xE0E1", run.stderr)
        self.assertEqual(writes(state), before)
        self.assertEqual(self.control("state")["certificates"], {})

    def test_write_failure_leaves_no_active_certificate(self):
        # A condition the host cannot evaluate, which the chip then refuses at the write.
        state = self.new_chip("refused")
        subprocess.run([TRUSTX, "-d", f"sim:{state}", "object", "metadata", "E0E1", "--set",
                        "change=LcsO>te||LcsG<0x01"], check=True, capture_output=True)
        run = self.personalize(state, "dev-refused")
        self.assertEqual(run.returncode, 3, run.stderr)
        certs = self.control("state")["certificates"]
        self.assertTrue(certs)
        self.assertNotIn("ACTIVE", [c["status"] for c in certs.values()])


class PersonalizeMotoTest(unittest.TestCase):
    """moto issues certificates for a key of its own, which trustx must refuse."""

    def test_moto_certificate_is_refused(self):
        os.makedirs(TMP, exist_ok=True)
        server, url = start_server([os.path.join(SOURCE, "tests", "fakeaws", "run_moto.py")],
                                   os.path.join(TMP, "moto.port"))
        try:
            state = os.path.join(TMP, "moto.json")
            subprocess.run([TRUSTX_SIM, "init", "--force", state], check=True,
                           capture_output=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_REGION": REGION, "AWS_ENDPOINT_URL": url, "HOME": TMP,
                        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(TMP, "no-credentials"),
                        "AWS_CONFIG_FILE": os.path.join(TMP, "no-config"),
                        "TRUSTX_AWS_REQUIRE_ENDPOINT": "1", "TRUSTX_AWS_RETRY_BASE_MS": "1"})
            run = subprocess.run(
                [TRUSTX, "-d", f"sim:{state}", "personalize", "--aws", "--thing", "dev-moto",
                 "--subject", "/CN=dev-moto", "--out-dir", os.path.join(TMP, "out-moto")],
                capture_output=True, text=True, env=env, timeout=600)
            self.assertEqual(run.returncode, 4, run.stderr)
            self.assertEqual(writes(state)["E0E1"], 0)
        finally:
            stop_server(server)


if __name__ == "__main__":
    unittest.main(verbosity=2)
