"""TLS, mutual TLS and bearer tokens, on a real server with certificates made for the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from scheduler.client import Connection
from scheduler.service.convert import pb, pb_grpc
from tests.service.harness import config, running

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by
    the CA, and a stranger's certificate signed by another CA."""
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={ca}",
                 "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, ca in (("server", "ca"), ("client", "ca"), ("stranger", "other-ca")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
                 "-days", "2", "-extfile", "san.ext", "-out", f"{name}.pem", cwd=d)  # fmt: skip
    return d


def _list(connection: Connection) -> list[str]:
    with connection.channel() as channel:
        stub = pb_grpc.SchedulerServiceStub(channel)
        return [
            p.plan_id for p in stub.ListPlans(pb.ListPlansRequest(), metadata=connection.metadata, timeout=10).plans
        ]


def test_tls_serves_clients_that_trust_the_ca_and_refuses_plaintext(tmp_path, pki):
    settings = config(tmp_path, tls_cert=pki / "server.pem", tls_key=pki / "server.key")
    with running(settings) as server:
        addr = f"127.0.0.1:{server.port}"
        assert _list(Connection(addr, ca=pki / "ca.pem")) == []
        with pytest.raises(grpc.RpcError) as plain:
            _list(Connection(addr))
        assert plain.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError) as untrusted:
            _list(Connection(addr, ca=pki / "other-ca.pem"))
        assert untrusted.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_needs_a_client_certificate_from_the_ca(tmp_path, pki):
    settings = config(tmp_path, tls_cert=pki / "server.pem", tls_key=pki / "server.key", client_ca=pki / "ca.pem")
    with running(settings) as server:
        addr = f"127.0.0.1:{server.port}"
        assert _list(Connection(addr, ca=pki / "ca.pem", cert=pki / "client.pem", key=pki / "client.key")) == []
        stranger = Connection(addr, ca=pki / "ca.pem", cert=pki / "stranger.pem", key=pki / "stranger.key")
        for refused in (Connection(addr, ca=pki / "ca.pem"), stranger):
            with pytest.raises(grpc.RpcError) as error:
                _list(refused)
            assert error.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_token_is_required_except_for_health_checks(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    with running(config(tmp_path / "data", token_file=token_file)) as server:
        addr = f"127.0.0.1:{server.port}"
        assert _list(Connection(addr, token="s3cret-token")) == []
        for token, words in ((None, "missing"), ("wrong", "invalid")):
            with pytest.raises(grpc.RpcError) as error:
                _list(Connection(addr, token=token))
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert words in str(error.value.details())
        with grpc.insecure_channel(addr) as channel:  # streams are guarded too
            watch = pb_grpc.SchedulerServiceStub(channel).WatchPlan(pb.WatchPlanRequest(plan_id="x"), timeout=10)
            with pytest.raises(grpc.RpcError) as error:
                next(iter(watch))
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
