#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A strict fake of the AWS IoT control plane on 127.0.0.1, for tests.

Every request must carry a SigV4 signature that botocore recomputes with the
test credentials, and must be serialized the way botocore's IoT service model
defines (method, path labels, query, headers, JSON body). Certificates are issued
from the CSR by a test CA the way AWS IoT does it. Faults (throttling, server
errors, conflicts, failures after the change, certificates for another key)
are injected from command-line flags or from the unsigned control endpoints
under /_fake/.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
except ImportError:  # pragma: no cover - reported, not bypassed
    sys.exit("fake_iot: the Python 'cryptography' package is required to issue certificates")

CONTROL_PREFIX = "/_fake/"
MAX_CLOCK_SKEW_S = 300            # AWS rejects signatures more than 5 minutes off
MAX_BODY_BYTES = 1024 * 1024
AWS_CERT_NOT_AFTER = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
AWS_ISSUER_OU = "Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US"
ERROR_NAMESPACE = ":http://internal.amazon.com/coral/com.amazonaws.iot/"
POLICY_MAX_CHARS = 2048           # non-whitespace characters
POLICIES_PER_TARGET_MAX = 10
EC_CURVES = ("secp256r1", "secp384r1", "secp521r1")
RSA_MIN_BITS = 2048
MUTATING_PREFIXES = ("Create", "Update", "Delete", "Attach", "Detach")
FAULT_KINDS = ("throttle", "server_error", "conflict", "fail_after")


class ApiError(Exception):
    """An AWS-style error: HTTP status, error code and message."""

    def __init__(self, status, code, message, extra=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}


def now_epoch():
    return round(time.time(), 3)


# ---------------------------------------------------------------------------
# Service model: routing and input validation


class Model:
    """Routes requests to IoT operations and checks inputs against botocore's model."""

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model("iot")
        self.routes = []
        for name in self.model.operation_names:
            op = self.model.operation_model(name)
            path, _, fixed = op.http["requestUri"].partition("?")
            segments = [s for s in path.split("/") if s]
            self.routes.append((op.http["method"], segments, fixed, op))

    def error_status(self, op, code):
        for shape in op.error_shapes:
            if shape.name == code:
                return shape.metadata.get("error", {}).get("httpStatusCode", 400)
        shape = self.model.shape_for(code) if code in self.model.shape_names else None
        if shape is not None:
            return shape.metadata.get("error", {}).get("httpStatusCode", 400)
        return 400

    def conflict_code(self, op):
        for shape in op.error_shapes:
            if shape.metadata.get("error", {}).get("httpStatusCode") == 409:
                return shape.name
        return "ResourceAlreadyExistsException"

    def route(self, method, raw_path):
        """Returns (operation model, labels) for the best matching route."""
        raw_segments = [s for s in raw_path.split("/") if s]
        best = None
        for r_method, segments, _fixed, op in self.routes:
            if r_method != method:
                continue
            labels = self._match(segments, raw_segments)
            if labels is None:
                continue
            literal = sum(1 for s in segments if not s.startswith("{"))
            if best is None or literal > best[0]:
                best = (literal, op, labels)
        if best is None:
            raise ApiError(404, "UnknownOperationException",
                           f"no IoT operation for {method} {raw_path}")
        return best[1], best[2]

    @staticmethod
    def _match(segments, raw_segments):
        labels = {}
        for i, seg in enumerate(segments):
            if seg.startswith("{") and seg.endswith("+}"):
                labels[seg[1:-2]] = ("/".join(raw_segments[i:]), True)
                return labels
            if i >= len(raw_segments):
                return None
            if seg.startswith("{"):
                labels[seg[1:-1]] = (raw_segments[i], False)
            elif unquote(raw_segments[i]) != seg:
                return None
        return labels if len(raw_segments) == len(segments) else None

    # -- input collection ------------------------------------------------

    def parse_input(self, op, labels, query_pairs, headers, body):
        """Returns the operation's input as a dict, checking serialization strictly."""
        shape = op.input_shape
        params = {}
        members = shape.members if shape is not None else {}
        by_location = {"uri": {}, "querystring": {}, "header": {}}
        body_members = {}
        for name, member in members.items():
            loc = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if loc in by_location:
                by_location[loc][wire] = (name, member)
            else:
                body_members[name] = member

        for wire, (raw, greedy) in labels.items():
            safe = "/~" if greedy else "-_.~"
            value = unquote(raw)
            if quote(value, safe=safe) != raw:
                raise ApiError(400, "InvalidRequestException",
                               f"path label {wire} is not percent-encoded as the AWS SDKs do: "
                               f"got {raw!r}, expected {quote(value, safe=safe)!r}")
            name, member = by_location["uri"][wire]
            params[name] = self._convert_text(name, member, value)

        fixed = dict(p.split("=", 1) if "=" in p else (p, "") for p in
                     ([] if not self._fixed_query(op) else self._fixed_query(op).split("&")))
        for raw_key, raw_value in query_pairs:
            for raw in (raw_key, raw_value):
                if quote(unquote(raw), safe="-_.~") != raw:
                    raise ApiError(400, "InvalidRequestException",
                                   f"query component {raw!r} is not percent-encoded as the "
                                   "AWS SDKs do")
            key, value = unquote(raw_key), unquote(raw_value)
            if key in fixed:
                continue
            if key not in by_location["querystring"]:
                raise ApiError(400, "InvalidRequestException",
                               f"unknown query parameter {key!r} for {op.name}")
            name, member = by_location["querystring"][key]
            params[name] = self._convert_text(name, member, value)

        for wire, (name, member) in by_location["header"].items():
            value = headers.get(wire)
            if value is not None:
                params[name] = self._convert_text(name, member, value)

        if body_members:
            ctype = headers.get("Content-Type", "")
            if body and not ctype.startswith("application/json"):
                raise ApiError(400, "InvalidRequestException",
                               f"{op.name} body needs Content-Type application/json, got {ctype!r}")
            try:
                doc = json.loads(body.decode("utf-8")) if body else {}
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ApiError(400, "SerializationException", f"body is not JSON: {exc}")
            if not isinstance(doc, dict):
                raise ApiError(400, "SerializationException", "body is not a JSON object")
            for key, value in doc.items():
                if key not in body_members:
                    raise ApiError(400, "SerializationException",
                                   f"unknown body member {key!r} for {op.name}")
                self._check_value(key, body_members[key], value)
                params[key] = value
        elif body:
            raise ApiError(400, "SerializationException", f"{op.name} takes no body")

        for name in (shape.required_members if shape is not None else []):
            if name not in params:
                raise ApiError(400, "InvalidRequestException",
                               f"missing required parameter {name} for {op.name}")
        for name, value in params.items():
            if name in members and isinstance(value, str):
                self._check_value(name, members[name], value)
        return params

    def _fixed_query(self, op):
        return op.http["requestUri"].partition("?")[2]

    def _convert_text(self, name, member, text):
        kind = member.type_name
        if kind == "boolean":
            if text not in ("true", "false"):
                raise ApiError(400, "InvalidRequestException",
                               f"{name} must be true or false, got {text!r}")
            return text == "true"
        if kind in ("integer", "long"):
            if not re.fullmatch(r"-?[0-9]+", text):
                raise ApiError(400, "InvalidRequestException", f"{name} must be an integer")
            value = int(text)
            self._check_value(name, member, value)
            return value
        return text

    def _check_value(self, name, member, value):
        kind = member.type_name
        meta = member.metadata
        if kind == "string":
            if not isinstance(value, str):
                raise ApiError(400, "SerializationException", f"{name} must be a string")
            if "min" in meta and len(value) < meta["min"]:
                raise ApiError(400, "InvalidRequestException", f"{name} is shorter than {meta['min']}")
            if "max" in meta and len(value) > meta["max"]:
                raise ApiError(400, "InvalidRequestException", f"{name} is longer than {meta['max']}")
            if member.enum and value not in member.enum:
                raise ApiError(400, "InvalidRequestException",
                               f"{name} must be one of {', '.join(member.enum)}")
            pattern = meta.get("pattern")
            if pattern:
                try:
                    ok = re.fullmatch(pattern, value) is not None
                except re.error:
                    ok = True       # Java-only syntax such as \p{L}: not checked here
                if not ok:
                    raise ApiError(400, "InvalidRequestException",
                                   f"{name} {value!r} does not match {pattern}")
        elif kind == "boolean" and not isinstance(value, bool):
            raise ApiError(400, "SerializationException", f"{name} must be a boolean")
        elif kind in ("integer", "long"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ApiError(400, "SerializationException", f"{name} must be an integer")
            if "min" in meta and value < meta["min"]:
                raise ApiError(400, "InvalidRequestException", f"{name} is below {meta['min']}")
            if "max" in meta and value > meta["max"]:
                raise ApiError(400, "InvalidRequestException", f"{name} is above {meta['max']}")
        elif kind == "structure":
            if not isinstance(value, dict):
                raise ApiError(400, "SerializationException", f"{name} must be an object")
            for key, item in value.items():
                if key not in member.members:
                    raise ApiError(400, "SerializationException", f"unknown member {name}.{key}")
                self._check_value(f"{name}.{key}", member.members[key], item)
        elif kind == "list":
            if not isinstance(value, list):
                raise ApiError(400, "SerializationException", f"{name} must be a list")
            for item in value:
                self._check_value(name, member.member, item)
        elif kind == "map":
            if not isinstance(value, dict):
                raise ApiError(400, "SerializationException", f"{name} must be an object")
            for key, item in value.items():
                self._check_value(f"{name} key", member.key, key)
                self._check_value(f"{name}[{key}]", member.value, item)


# ---------------------------------------------------------------------------
# Signature verification


AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def verify_signature(cfg, method, raw_path, raw_query, headers, body):
    """Recomputes the SigV4 signature with botocore; raises ApiError on any mismatch."""
    auth = headers.get("Authorization")
    if not auth:
        raise ApiError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    match = AUTH_RE.match(auth)
    if not match:
        raise ApiError(403, "IncompleteSignatureException",
                       f"Authorization header is not a SigV4 header: {auth[:60]!r}")
    key_id, date8, region, service, signed, signature = match.groups()
    if key_id != cfg.access_key:
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")

    amz_date = headers.get("X-Amz-Date", "")
    try:
        stamp = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ApiError(403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed")
    if amz_date[:8] != date8:
        raise ApiError(403, "InvalidSignatureException",
                       "Credential date does not match the X-Amz-Date header")
    if abs(time.time() - stamp.timestamp()) > MAX_CLOCK_SKEW_S:
        raise ApiError(403, "InvalidSignatureException", "Signature expired")
    if region != cfg.region:
        raise ApiError(403, "InvalidSignatureException",
                       f"Credential should be scoped to a valid region, not '{region}'.")
    if service not in cfg.signing_names:
        raise ApiError(403, "InvalidSignatureException",
                       f"Credential should be scoped to correct service: '{cfg.signing_names[0]}'.")

    token = headers.get("X-Amz-Security-Token")
    if cfg.session_token and token != cfg.session_token:
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    if not cfg.session_token and token is not None:
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")

    signed_names = signed.split(";")
    if signed_names != sorted(signed_names):
        raise ApiError(403, "InvalidSignatureException", "SignedHeaders are not sorted")
    must_sign = {"host", "x-amz-date"}
    for name in ("x-amz-security-token", "content-type", "x-amzn-principal",
                 "x-amzn-iot-principal"):
        if headers.get(name) is not None:
            must_sign.add(name)
    unsigned = must_sign - set(signed_names)
    if unsigned:
        raise ApiError(403, "InvalidSignatureException",
                       f"headers {', '.join(sorted(unsigned))} must be signed")

    request_headers = []
    for name in signed_names:
        values = headers.get_all(name)
        if not values:
            raise ApiError(403, "InvalidSignatureException", f"signed header {name} is missing")
        for value in values:
            request_headers.append((name, value))

    # Re-encode the query strictly, so a component sent unencoded but signed encoded is caught.
    pairs = []
    for piece in raw_query.split("&") if raw_query else []:
        key, _, value = piece.partition("=")
        pairs.append(quote(unquote(key), safe="-_.~") + "=" + quote(unquote(value), safe="-_.~"))
    url = "http://" + headers["Host"] + raw_path + ("?" + "&".join(pairs) if pairs else "")

    request = AWSRequest(method=method, url=url, data=body)
    for name, value in request_headers:
        request.headers[name] = value       # HTTPHeaders appends, so repeated headers stay
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(cfg.access_key, cfg.secret_key, cfg.session_token or None),
                       service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise ApiError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature you "
                       "provided. The Canonical String for this request should have been\n'"
                       + canonical + "'")


# ---------------------------------------------------------------------------
# Certificate authority


class TestCA:
    """Issues device certificates from CSRs like AWS IoT: subject copied, fixed notAfter."""

    def __init__(self, key_type):
        if key_type == "rsa":
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, AWS_ISSUER_OU)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder()
                     .subject_name(self.name).issuer_name(self.name)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(AWS_CERT_NOT_AFTER)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .sign(self.key, hashes.SHA256()))

    @staticmethod
    def check_csr(pem):
        try:
            csr = x509.load_pem_x509_csr(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ApiError(400, "InvalidRequestException", f"The certificate signing request is "
                           f"not valid: {exc}")
        if not csr.is_signature_valid:
            raise ApiError(400, "InvalidRequestException",
                           "The certificate signing request signature does not verify")
        key = csr.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < RSA_MIN_BITS:
                raise ApiError(400, "InvalidRequestException",
                               f"RSA key of {key.key_size} bits is too small; at least 2048")
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if key.curve.name not in EC_CURVES:
                raise ApiError(400, "InvalidRequestException",
                               f"EC curve {key.curve.name} is not supported")
        else:
            raise ApiError(400, "InvalidRequestException", "key type is not RSA or EC")
        return csr

    def issue(self, csr, other_key=False):
        key = csr.public_key()
        if other_key:
            key = ec.generate_private_key(ec.SECP256R1()).public_key()
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(csr.subject).issuer_name(self.name).public_key(key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=1))
                .not_valid_after(AWS_CERT_NOT_AFTER)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        der = cert.public_bytes(serialization.Encoding.DER)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii"), \
            hashlib.sha256(der).hexdigest()

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


# ---------------------------------------------------------------------------
# Service state and operations


def non_whitespace_len(text):
    return len(re.sub(r"\s", "", text))


def encode_marker(index):
    return base64.b64encode(str(index).encode()).decode()


def decode_marker(marker):
    try:
        return int(base64.b64decode(marker.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "InvalidRequestException", f"marker {marker!r} is invalid")


class Service:
    """The fake IoT registry: things, certificates, policies and attachments."""

    def __init__(self, cfg, model, ca):
        self.cfg = cfg
        self.model = model
        self.ca = ca
        self.lock = threading.Lock()
        self.reset_state()
        self.faults = {kind: dict(getattr(cfg, kind)) for kind in FAULT_KINDS}
        self.faults["wrong_key"] = cfg.wrong_key
        self.consumed = {kind: {} for kind in FAULT_KINDS}

    def reset_state(self):
        self.things = {}
        self.certs = {}
        self.policies = {}
        self.thing_principals = {}
        self.policy_targets = {}
        self.counts = {"requests": {}, "mutations": 0, "certificates_issued": 0,
                       "rejected_signatures": 0, "faults_injected": 0}

    def arn(self, kind, name):
        return f"arn:aws:iot:{self.cfg.region}:{self.cfg.account}:{kind}/{name}"

    # -- faults ----------------------------------------------------------

    def set_faults(self, spec):
        for kind in FAULT_KINDS:
            if kind in spec:
                self.faults[kind] = {str(k): int(v) for k, v in spec[kind].items()}
                self.consumed[kind] = {}
        if "wrong_key" in spec:
            self.faults["wrong_key"] = int(spec["wrong_key"])

    def take_fault(self, kind, op_name):
        table = self.faults[kind]
        limit = table.get(op_name, table.get("*", 0))
        used = self.consumed[kind].get(op_name, 0)
        if used < limit:
            self.consumed[kind][op_name] = used + 1
            self.counts["faults_injected"] += 1
            return True
        return False

    # -- dispatch --------------------------------------------------------

    def call(self, op, params):
        name = op.name
        with self.lock:
            self.counts["requests"][name] = self.counts["requests"].get(name, 0) + 1
            if self.take_fault("throttle", name):
                raise ApiError(400, "ThrottlingException", "Rate exceeded")
            if self.take_fault("server_error", name):
                raise ApiError(500, "InternalFailureException", "injected internal failure")
            if self.take_fault("conflict", name):
                code = self.model.conflict_code(op)
                raise ApiError(409, code, "injected conflict")
            handler = getattr(self, "op_" + name, None)
            if handler is None:
                raise ApiError(501, "NotImplementedException",
                               f"{name} is not implemented by the fake server")
            result = handler(params)
            if name.startswith(MUTATING_PREFIXES):
                self.counts["mutations"] += 1
            if self.take_fault("fail_after", name):
                raise ApiError(500, "InternalFailureException",
                               "injected internal failure after the change was made")
            return result

    # -- certificates ----------------------------------------------------

    def cert_or_404(self, cert_id):
        cert = self.certs.get(cert_id.lower())
        if cert is None:
            raise ApiError(404, "ResourceNotFoundException",
                           f"The certificate {cert_id} does not exist")
        return cert

    def op_CreateCertificateFromCsr(self, p):
        csr = self.ca.check_csr(p["certificateSigningRequest"])
        other = self.faults["wrong_key"] > 0
        if other:
            self.faults["wrong_key"] -= 1
            self.counts["faults_injected"] += 1
        pem, cert_id = self.ca.issue(csr, other_key=other)
        created = now_epoch()
        self.certs[cert_id] = {
            "certificateId": cert_id, "certificateArn": self.arn("cert", cert_id),
            "certificatePem": pem, "status": "ACTIVE" if p.get("setAsActive") else "INACTIVE",
            "creationDate": created, "lastModifiedDate": created, "customerVersion": 1,
            "wrong_key": other,
        }
        self.counts["certificates_issued"] += 1
        return {"certificateArn": self.arn("cert", cert_id), "certificateId": cert_id,
                "certificatePem": pem}

    def op_DescribeCertificate(self, p):
        cert = self.cert_or_404(p["certificateId"])
        return {"certificateDescription": {
            "certificateArn": cert["certificateArn"], "certificateId": cert["certificateId"],
            "status": cert["status"], "certificatePem": cert["certificatePem"],
            "ownedBy": self.cfg.account, "creationDate": cert["creationDate"],
            "lastModifiedDate": cert["lastModifiedDate"],
            "customerVersion": cert["customerVersion"], "generationId": str(uuid.uuid4()),
            "validity": {"notBefore": cert["creationDate"] - 60,
                         "notAfter": AWS_CERT_NOT_AFTER.timestamp()},
            "certificateMode": "DEFAULT"}}

    def op_UpdateCertificate(self, p):
        cert = self.cert_or_404(p["certificateId"])
        status = p["newStatus"]
        if status not in ("ACTIVE", "INACTIVE", "REVOKED"):
            raise ApiError(400, "InvalidRequestException", f"newStatus {status} is not allowed")
        if cert["status"] == "REVOKED" and status != "REVOKED":
            raise ApiError(406, "CertificateStateException",
                           "A revoked certificate cannot change its status")
        cert["status"] = status
        cert["lastModifiedDate"] = now_epoch()
        cert["customerVersion"] += 1
        return {}

    def op_DeleteCertificate(self, p):
        cert = self.cert_or_404(p["certificateId"])
        arn = cert["certificateArn"]
        if cert["status"] == "ACTIVE":
            raise ApiError(406, "CertificateStateException",
                           "Certificate must be deactivated before deletion")
        if any(arn in principals for principals in self.thing_principals.values()):
            raise ApiError(409, "DeleteConflictException", "Certificate is attached to a thing")
        attached = [n for n, targets in self.policy_targets.items() if arn in targets]
        if attached and not p.get("forceDelete"):
            raise ApiError(409, "DeleteConflictException",
                           f"Certificate has policies attached: {', '.join(attached)}")
        for targets in self.policy_targets.values():
            targets.discard(arn)
        del self.certs[cert["certificateId"]]
        return {}

    def op_ListCertificates(self, p):
        ascending = p.get("ascendingOrder", False)
        ordered = sorted(self.certs.values(), key=lambda c: c["creationDate"],
                         reverse=not ascending)
        start = decode_marker(p["marker"]) if p.get("marker") else 0
        size = p.get("pageSize", 25)
        page = ordered[start:start + size]
        result = {"certificates": [
            {"certificateArn": c["certificateArn"], "certificateId": c["certificateId"],
             "status": c["status"], "certificateMode": "DEFAULT",
             "creationDate": c["creationDate"]} for c in page]}
        if start + size < len(ordered):
            result["nextMarker"] = encode_marker(start + size)
        return result

    # -- things ----------------------------------------------------------

    def thing_or_404(self, name):
        thing = self.things.get(name)
        if thing is None:
            raise ApiError(404, "ResourceNotFoundException", f"Thing {name} cannot be found.")
        return thing

    def op_CreateThing(self, p):
        name = p["thingName"]
        attributes = (p.get("attributePayload") or {}).get("attributes", {})
        config = (p.get("thingTypeName"), attributes, p.get("billingGroupName"))
        thing = self.things.get(name)
        if thing is not None:
            if thing["config"] != config:
                raise ApiError(409, "ResourceAlreadyExistsException",
                               f"Thing {name} already exists with different tags",
                               {"resourceId": thing["thingId"], "resourceArn": thing["thingArn"]})
        else:
            thing = {"thingName": name, "thingId": str(uuid.uuid4()),
                     "thingArn": self.arn("thing", name), "config": config, "version": 1}
            self.things[name] = thing
            self.thing_principals[name] = []
        return {"thingName": name, "thingArn": thing["thingArn"], "thingId": thing["thingId"]}

    def op_DescribeThing(self, p):
        thing = self.thing_or_404(p["thingName"])
        result = {"defaultClientId": thing["thingName"], "thingName": thing["thingName"],
                  "thingId": thing["thingId"], "thingArn": thing["thingArn"],
                  "attributes": thing["config"][1], "version": thing["version"]}
        if thing["config"][0]:
            result["thingTypeName"] = thing["config"][0]
        return result

    def op_DeleteThing(self, p):
        name = p["thingName"]
        if name not in self.things:
            return {}
        if self.thing_principals.get(name):
            raise ApiError(400, "InvalidRequestException",
                           f"Cannot delete thing {name}: principals are attached")
        del self.things[name]
        self.thing_principals.pop(name, None)
        return {}

    def principal_or_404(self, principal):
        cert_id = principal.rsplit("/", 1)[-1]
        if not principal.startswith(self.arn("cert", "")) or cert_id not in self.certs:
            raise ApiError(404, "ResourceNotFoundException",
                           f"The certificate {principal} does not exist")
        return principal

    def op_AttachThingPrincipal(self, p):
        self.thing_or_404(p["thingName"])
        principal = self.principal_or_404(p["principal"])
        principals = self.thing_principals[p["thingName"]]
        if principal not in principals:
            principals.append(principal)
        return {}

    def op_DetachThingPrincipal(self, p):
        self.thing_or_404(p["thingName"])
        principals = self.thing_principals[p["thingName"]]
        if p["principal"] in principals:
            principals.remove(p["principal"])
        return {}

    def op_ListThingPrincipals(self, p):
        self.thing_or_404(p["thingName"])
        principals = self.thing_principals[p["thingName"]]
        start = decode_marker(p["nextToken"]) if p.get("nextToken") else 0
        size = p.get("maxResults", 25)
        result = {"principals": principals[start:start + size]}
        if start + size < len(principals):
            result["nextToken"] = encode_marker(start + size)
        return result

    # -- policies --------------------------------------------------------

    def policy_or_404(self, name):
        policy = self.policies.get(name)
        if policy is None:
            raise ApiError(404, "ResourceNotFoundException", f"Policy {name} does not exist")
        return policy

    def op_CreatePolicy(self, p):
        name = p["policyName"]
        if name in self.policies:
            raise ApiError(409, "ResourceAlreadyExistsException", f"Policy {name} already exists",
                           {"resourceId": name, "resourceArn": self.arn("policy", name)})
        document = p["policyDocument"]
        try:
            parsed = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ApiError(400, "MalformedPolicyException", f"Policy document is not JSON: {exc}")
        if not isinstance(parsed, dict) or "Statement" not in parsed:
            raise ApiError(400, "MalformedPolicyException", "Policy document has no Statement")
        if non_whitespace_len(document) > POLICY_MAX_CHARS:
            raise ApiError(400, "MalformedPolicyException",
                           f"Policy document exceeds {POLICY_MAX_CHARS} characters")
        created = now_epoch()
        self.policies[name] = {"document": document, "created": created}
        self.policy_targets[name] = set()
        return {"policyName": name, "policyArn": self.arn("policy", name),
                "policyDocument": document, "policyVersionId": "1"}

    def op_GetPolicy(self, p):
        policy = self.policy_or_404(p["policyName"])
        return {"policyName": p["policyName"], "policyArn": self.arn("policy", p["policyName"]),
                "policyDocument": policy["document"], "defaultVersionId": "1",
                "creationDate": policy["created"], "lastModifiedDate": policy["created"],
                "generationId": "1"}

    def op_DeletePolicy(self, p):
        self.policy_or_404(p["policyName"])
        if self.policy_targets[p["policyName"]]:
            raise ApiError(409, "DeleteConflictException", "Policy is attached to targets")
        del self.policies[p["policyName"]]
        del self.policy_targets[p["policyName"]]
        return {}

    def op_AttachPolicy(self, p):
        self.policy_or_404(p["policyName"])
        target = self.principal_or_404(p["target"])
        count = sum(1 for targets in self.policy_targets.values() if target in targets)
        if target not in self.policy_targets[p["policyName"]] and count >= POLICIES_PER_TARGET_MAX:
            raise ApiError(410, "LimitExceededException",
                           f"Target already has {POLICIES_PER_TARGET_MAX} policies")
        self.policy_targets[p["policyName"]].add(target)
        return {}

    def op_DetachPolicy(self, p):
        self.policy_or_404(p["policyName"])
        self.policy_targets[p["policyName"]].discard(p["target"])
        return {}

    def op_ListAttachedPolicies(self, p):
        target = self.principal_or_404(p["target"])
        names = sorted(n for n, targets in self.policy_targets.items() if target in targets)
        start = decode_marker(p["marker"]) if p.get("marker") else 0
        size = p.get("pageSize", 25)
        result = {"policies": [{"policyName": n, "policyArn": self.arn("policy", n)}
                               for n in names[start:start + size]]}
        if start + size < len(names):
            result["nextMarker"] = encode_marker(start + size)
        return result

    def op_DescribeEndpoint(self, p):
        kind = p.get("endpointType", "iot:Data")
        prefix = hashlib.sha256(self.cfg.account.encode()).hexdigest()[:14]
        hosts = {"iot:Data": f"{prefix}.iot.{self.cfg.region}.amazonaws.com",
                 "iot:Data-ATS": f"{prefix}-ats.iot.{self.cfg.region}.amazonaws.com",
                 "iot:CredentialProvider":
                     f"{prefix}.credentials.iot.{self.cfg.region}.amazonaws.com",
                 "iot:Jobs": f"{prefix}.jobs.iot.{self.cfg.region}.amazonaws.com"}
        if kind not in hosts:
            raise ApiError(400, "InvalidRequestException", f"endpointType {kind} is invalid")
        return {"endpointAddress": hosts[kind]}

    # -- control view ----------------------------------------------------

    def snapshot(self):
        with self.lock:
            return {
                "things": {n: {"thingArn": t["thingArn"], "principals": self.thing_principals[n]}
                           for n, t in self.things.items()},
                "certificates": {i: {"status": c["status"], "certificateArn": c["certificateArn"],
                                     "certificatePem": c["certificatePem"],
                                     "wrong_key": c["wrong_key"]}
                                 for i, c in self.certs.items()},
                "policies": {n: {"document": p["document"],
                                 "targets": sorted(self.policy_targets[n])}
                             for n, p in self.policies.items()},
                "counts": self.counts,
                "faults": {k: self.faults[k] for k in list(FAULT_KINDS) + ["wrong_key"]},
                "ca_pem": self.ca.pem(),
            }


# ---------------------------------------------------------------------------
# HTTP front end


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeIoT/1.0"

    def log_message(self, fmt, *args):
        if self.server.cfg.verbose:
            sys.stderr.write("fake_iot: " + (fmt % args) + "\n")

    def send_json(self, status, payload, error_code=None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_code:
            self.send_header("x-amzn-ErrorType", error_code + ERROR_NAMESPACE)
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(400, "InvalidRequestException", "chunked bodies are not accepted")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError(413, "RequestEntityTooLargeException", "body too large")
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        service = self.server.service
        try:
            body = self.read_body()
            raw_path, _, raw_query = self.path.partition("?")
            if raw_path.startswith(CONTROL_PREFIX):
                self.handle_control(raw_path[len(CONTROL_PREFIX):], body)
                return
            if self.headers.get("Expect"):
                raise ApiError(400, "InvalidRequestException", "Expect header is not accepted")
            try:
                verify_signature(self.server.cfg, self.command, raw_path, raw_query,
                                 self.headers, body)
            except ApiError:
                with service.lock:
                    service.counts["rejected_signatures"] += 1
                raise
            op, labels = service.model.route(self.command, raw_path)
            pairs = [piece.partition("=")[::2] for piece in raw_query.split("&") if piece] \
                if raw_query else []
            params = service.model.parse_input(op, labels, pairs, self.headers, body)
            result = service.call(op, params)
            self.send_json(200, result)
        except ApiError as err:
            payload = {"message": err.message}
            payload.update(err.extra)
            self.send_json(err.status, payload, err.code)

    def handle_control(self, action, body):
        service = self.server.service
        if action == "state" and self.command == "GET":
            self.send_json(200, service.snapshot())
        elif action == "faults" and self.command == "POST":
            with service.lock:
                service.set_faults(json.loads(body or b"{}"))
            self.send_json(200, {"ok": True})
        elif action == "reset" and self.command == "POST":
            with service.lock:
                service.reset_state()
                service.set_faults({k: {} for k in FAULT_KINDS} | {"wrong_key": 0})
            self.send_json(200, {"ok": True})
        elif action == "shutdown" and self.command == "POST":
            self.send_json(200, {"ok": True})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
        else:
            self.send_json(404, {"message": f"unknown control action {action}"}, "NotFound")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


# ---------------------------------------------------------------------------


def parse_op_counts(items):
    table = {}
    for item in items or []:
        op, _, count = item.partition("=")
        if not count.isdigit():
            raise SystemExit(f"fake_iot: expected OPERATION=COUNT (or *=COUNT), got {item!r}")
        table[op] = int(count)
    return table


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: ephemeral)")
    ap.add_argument("--port-file", help="write the chosen port to this file")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--account", default="123456789012")
    ap.add_argument("--access-key", default="AKIDFAKEIOTTEST00001")
    ap.add_argument("--secret-key", default="fake/SecretKey+ForTheIoTFake0000000000001")
    ap.add_argument("--session-token", default="")
    ap.add_argument("--signing-name", action="append",
                    help="accepted SigV4 service names (default: iot)")
    ap.add_argument("--ca-key", choices=("ec", "rsa"), default="ec")
    ap.add_argument("--throttle", action="append", metavar="OP=N",
                    help="answer the next N calls of OP (* = every operation) with "
                         "ThrottlingException")
    ap.add_argument("--server-error", action="append", metavar="OP=N",
                    help="answer N calls with 500 InternalFailureException")
    ap.add_argument("--conflict", action="append", metavar="OP=N",
                    help="answer N calls with the operation's 409 error")
    ap.add_argument("--fail-after", action="append", metavar="OP=N",
                    help="carry out N calls, then answer 500 as if they had failed")
    ap.add_argument("--wrong-key", type=int, default=0,
                    help="issue the next N certificates for a freshly generated key")
    ap.add_argument("--verbose", action="store_true")
    cfg = ap.parse_args(argv)
    cfg.signing_names = cfg.signing_name or ["iot"]
    cfg.throttle = parse_op_counts(cfg.throttle)
    cfg.server_error = parse_op_counts(cfg.server_error)
    cfg.conflict = parse_op_counts(cfg.conflict)
    cfg.fail_after = parse_op_counts(cfg.fail_after)
    return cfg


def make_server(cfg):
    """Builds the server bound to 127.0.0.1 (never another address)."""
    server = ThreadingHTTPServer(("127.0.0.1", cfg.port), Handler)
    server.daemon_threads = True
    server.cfg = cfg
    server.service = Service(cfg, Model(), TestCA(cfg.ca_key))
    return server


def main(argv=None):
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    server = make_server(cfg)
    port = server.server_address[1]
    if cfg.port_file:
        with open(cfg.port_file + ".tmp", "w", encoding="ascii") as f:
            f.write(f"{port}\n")
        os.replace(cfg.port_file + ".tmp", cfg.port_file)
    print(f"fake_iot: listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
