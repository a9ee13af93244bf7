#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of 'trustx aws' against the strict fake IoT server and moto.

Both servers run on 127.0.0.1 with ephemeral ports; every trustx run gets
AWS_ENDPOINT_URL pointing at one of them and TRUSTX_AWS_REQUIRE_ENDPOINT=1, so
nothing can reach AWS. Certificates, keys and signatures are checked with the
openssl command and botocore, not with trustx's own code.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

SOURCE = os.environ.get("TRUSTX_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TRUSTX = os.environ.get("TRUSTX", "trustx")
TMP = os.environ.get("TEST_TMP", "/tmp/trustx-test-aws-cli")
START_POLLS = 300                  # port-file polls, 0.1 s apart
KEY_ID = "AKIDTRUSTXCLITEST001"
SECRET = "cli/Test+Secret/Key00000000000000000000001"
REGION = "eu-central-1"
ACCOUNT = "345678901234"


def start_server(args, port_file):
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc = subprocess.Popen([sys.executable] + args + ["--port-file", port_file],
                            stdout=subprocess.DEVNULL)
    for _ in range(START_POLLS):
        if os.path.exists(port_file):
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


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def make_csr(name, curve="prime256v1"):
    key = os.path.join(TMP, f"{name}.key")
    csr = os.path.join(TMP, f"{name}.csr")
    openssl("ecparam", "-name", curve, "-genkey", "-noout", "-out", key)
    openssl("req", "-new", "-key", key, "-subj", f"/CN={name}/O=trustx test", "-out", csr)
    return key, csr


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AwsCliTest(unittest.TestCase):
    url = None
    server = None

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
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
        handler = urllib.request.ProxyHandler({})
        with urllib.request.build_opener(handler).open(req, timeout=30) as resp:
            return json.load(resp)

    def env(self, **changes):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_REGION": REGION, "AWS_ENDPOINT_URL": self.url,
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

    def trustx(self, *args, env=None):
        return subprocess.run([TRUSTX, *args], capture_output=True, text=True,
                              env=env or self.env(), timeout=300)

    def register_csr(self, name, *extra):
        key, csr = make_csr(name)
        cert_out = os.path.join(TMP, f"{name}.pem")
        arn_out = os.path.join(TMP, f"{name}.arn")
        run = self.trustx("aws", "register-csr", "--csr", csr, "--cert-out", cert_out,
                          "--arn-out", arn_out, "--json", *extra)
        return key, cert_out, arn_out, run

    # -- register-csr ----------------------------------------------------

    def test_register_csr_issues_inactive_cert_for_key(self):
        key, cert_out, arn_out, run = self.register_csr("dev-a")
        self.assertEqual(run.returncode, 0, run.stderr)
        out = json.loads(run.stdout)
        self.assertEqual(out["status"], "INACTIVE")
        with open(arn_out, encoding="ascii") as f:
            self.assertEqual(f.read(), out["certificateArn"])
        # The certificate's key is the CSR key, by openssl's reckoning.
        cert_pub = openssl("x509", "-in", cert_out, "-noout", "-pubkey")
        key_pub = openssl("pkey", "-in", key, "-pubout")
        self.assertEqual(cert_pub, key_pub)
        der = openssl("x509", "-in", cert_out, "-outform", "DER")
        digest = openssl("dgst", "-sha256", "-r", data=der).split()[0].decode()
        self.assertEqual(digest, out["certificateId"])
        state = self.control("state")
        self.assertEqual(state["certificates"][out["certificateId"]]["status"], "INACTIVE")
        self.assertEqual(state["counts"]["rejected_signatures"], 0)

    def test_register_csr_active_flag(self):
        _, _, _, run = self.register_csr("dev-b", "--active")
        self.assertEqual(run.returncode, 0, run.stderr)
        out = json.loads(run.stdout)
        self.assertEqual(self.control("state")["certificates"][out["certificateId"]]["status"],
                         "ACTIVE")

    def test_register_csr_other_key_refused(self):
        self.control("faults", {"wrong_key": 1})
        _, cert_out, _, run = self.register_csr("dev-c")
        self.assertEqual(run.returncode, 4, run.stderr)
        self.assertIn("revoked", run.stderr)
        self.assertFalse(os.path.exists(cert_out))
        certs = self.control("state")["certificates"]
        self.assertEqual([c["status"] for c in certs.values()], ["REVOKED"])

    def test_register_csr_survives_throttling(self):
        self.control("faults", {"throttle": {"*": 2}})
        _, _, _, run = self.register_csr("dev-d")
        self.assertEqual(run.returncode, 0, run.stderr)
        state = self.control("state")
        self.assertEqual(state["counts"]["requests"]["CreateCertificateFromCsr"], 3)
        self.assertEqual(state["counts"]["certificates_issued"], 1)

    def test_register_csr_rejects_weak_key_as_aws_does(self):
        key = os.path.join(TMP, "weak.key")
        csr = os.path.join(TMP, "weak.csr")
        openssl("genrsa", "-out", key, "1024")
        openssl("req", "-new", "-key", key, "-subj", "/CN=weak", "-out", csr)
        run = self.trustx("aws", "register-csr", "--csr", csr)
        self.assertEqual(run.returncode, 5, run.stderr)
        self.assertIn("CreateCertificateFromCsr", run.stderr)
        self.assertIn("InvalidRequestException", run.stderr)

    # -- attach, endpoint, policy ----------------------------------------

    def test_invalid_arguments_rejected_locally(self):
        before = self.control("state")["counts"]["requests"]
        cases = [
            ("aws", "endpoint", "--type", "bogus"),
            ("aws", "attach", "--thing", "t", "--cert-arn", "garbage"),
            ("aws", "attach", "--thing", "has space", "--cert-arn",
             "arn:aws:iot:eu-central-1:345678901234:cert/" + "0" * 64),
            ("aws", "policy", "--thing", "x*", "--account", ACCOUNT, "--region", REGION),
        ]
        for args in cases:
            run = self.trustx(*args)
            self.assertEqual(run.returncode, 1, (args, run.stderr))
            self.assertIn("invalid", run.stderr)
        # None of them reached the server.
        self.assertEqual(self.control("state")["counts"]["requests"], before)

    def test_attach_creates_least_privilege_policy(self):
        _, _, arn_out, run = self.register_csr("dev-e")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(arn_out, encoding="ascii") as f:
            arn = f.read()
        # attach does not create the thing, so it fails until botocore creates it.
        missing = self.trustx("aws", "attach", "--thing", "dev-e", "--cert-arn", arn)
        self.assertEqual(missing.returncode, 5)
        self.assertIn("ResourceNotFoundException", missing.stderr)

        import botocore.session
        session = botocore.session.get_session()
        client = session.create_client("iot", region_name=REGION, endpoint_url=self.url,
                                       aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET)
        client.create_thing(thingName="dev-e")

        run = self.trustx("aws", "attach", "--thing", "dev-e", "--cert-arn", arn, "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertTrue(json.loads(run.stdout)["policyCreated"])
        state = self.control("state")
        self.assertIn(arn, state["things"]["dev-e"]["principals"])
        policy = state["policies"]["trustx-device"]
        self.assertEqual(policy["targets"], [arn])
        document = json.loads(policy["document"])
        actions = sorted(s["Action"] for s in document["Statement"])
        self.assertEqual(actions, ["iot:Connect", "iot:Publish", "iot:Receive", "iot:Subscribe"])
        self.assertNotIn("iot:*", policy["document"])

        again = self.trustx("aws", "attach", "--thing", "dev-e", "--cert-arn", arn, "--json")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertFalse(json.loads(again.stdout)["policyCreated"])

    def test_endpoint(self):
        run = self.trustx("aws", "endpoint")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertRegex(run.stdout.strip(), r"^[0-9a-f]{14}-ats\.iot\.eu-central-1\.amazonaws\.com$")
        run = self.trustx("aws", "endpoint", "--json")
        self.assertEqual(json.loads(run.stdout)["endpointType"], "iot:Data-ATS")

    def test_policy_offline_and_from_thing(self):
        run = self.trustx("aws", "policy", "--account", ACCOUNT, "--region", "us-west-2")
        self.assertEqual(run.returncode, 0, run.stderr)
        document = json.loads(run.stdout)
        connect = [s for s in document["Statement"] if s["Action"] == "iot:Connect"][0]
        self.assertEqual(connect["Resource"],
                         f"arn:aws:iot:us-west-2:{ACCOUNT}:client/${{iot:Connection.Thing.ThingName}}")

        missing = self.trustx("aws", "policy", "--thing", "nosuch")
        self.assertEqual(missing.returncode, 5, missing.stderr)
        self.assertIn("nosuch", missing.stderr)

    # -- failures ----------------------------------------------------------

    def test_missing_credentials_exit_5(self):
        _, csr = make_csr("dev-f")
        env = self.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
        run = self.trustx("aws", "register-csr", "--csr", csr, env=env)
        self.assertEqual(run.returncode, 5)
        self.assertIn("AWS_ACCESS_KEY_ID", run.stderr)
        self.assertIn(os.path.join(TMP, "no-credentials"), run.stderr)
        self.assertEqual(self.control("state")["counts"]["requests"], {})

    def test_unreachable_endpoint_exit_5(self):
        env = self.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{closed_port()}", AWS_MAX_ATTEMPTS="2")
        run = self.trustx("aws", "endpoint", env=env)
        self.assertEqual(run.returncode, 5)
        self.assertIn("DescribeEndpoint failed", run.stderr)

    def test_guard_refuses_without_endpoint(self):
        run = self.trustx("aws", "endpoint", env=self.env(AWS_ENDPOINT_URL=None))
        self.assertEqual(run.returncode, 5)
        self.assertIn("TRUSTX_AWS_REQUIRE_ENDPOINT", run.stderr)

    def test_usage_errors_exit_1(self):
        self.assertEqual(self.trustx("aws").returncode, 1)
        self.assertEqual(self.trustx("aws", "frobnicate").returncode, 1)
        self.assertEqual(self.trustx("aws", "register-csr").returncode, 1)
        self.assertEqual(self.trustx("aws", "attach", "--thing", "x").returncode, 1)
        self.assertEqual(self.trustx("aws", "policy").returncode, 1)
        help_run = self.trustx("aws", "register-csr", "--help")
        self.assertEqual(help_run.returncode, 0)
        self.assertIn("--cert-out", help_run.stdout)

    def test_trace_hides_secrets(self):
        run = self.trustx("--trace", "aws", "endpoint")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("Signature=<redacted>", run.stderr)
        self.assertNotIn(SECRET, run.stderr)


class MotoPeerTest(unittest.TestCase):
    """moto as an independent implementation of the same API."""

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        cls.server, cls.url = start_server(
            [os.path.join(SOURCE, "tests", "fakeaws", "run_moto.py")],
            os.path.join(TMP, "moto.port"))

    @classmethod
    def tearDownClass(cls):
        stop_server(cls.server)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.url, "HOME": TMP,
                    "TRUSTX_AWS_REQUIRE_ENDPOINT": "1", "TRUSTX_AWS_RETRY_BASE_MS": "1"})
        return env

    def test_moto_cert_for_other_key_refused(self):
        _, csr = make_csr("moto-dev")
        cert_out = os.path.join(TMP, "moto-dev.pem")
        run = subprocess.run([TRUSTX, "aws", "register-csr", "--csr", csr, "--cert-out",
                              cert_out, "--id-out", os.path.join(TMP, "moto.id")],
                             capture_output=True, text=True, env=self.env(), timeout=300)
        self.assertEqual(run.returncode, 4, run.stderr)
        self.assertFalse(os.path.exists(cert_out))

        import botocore.session
        client = botocore.session.get_session().create_client(
            "iot", region_name="us-east-1", endpoint_url=self.url,
            aws_access_key_id="testing", aws_secret_access_key="testing")
        statuses = [c["status"] for c in client.list_certificates()["certificates"]]
        self.assertEqual(statuses, ["REVOKED"])

    def test_moto_endpoint(self):
        run = subprocess.run([TRUSTX, "aws", "endpoint", "--json"], capture_output=True,
                             text=True, env=self.env(), timeout=300)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("endpointAddress", json.loads(run.stdout))


if __name__ == "__main__":
    unittest.main(verbosity=2)
