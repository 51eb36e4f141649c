"""Start and stop the three parts of the sandbox together, and write how to reach them.

``with Sandbox() as sb:`` runs everything in this process (tests, notebooks);
``jupyter-ack sandbox up`` runs the same in the foreground or detached. Either way the state
directory holds ``kubeconfig`` (context ``jupyter-ack-sandbox``) and ``env`` (shell
``export`` lines for AWS and KUBECONFIG), so kubectl, boto3, the AWS CLI and jupyter-ack
find the sandbox the way they would find a real cluster and account.

The Kubernetes API is served over HTTPS with a certificate of the sandbox's own and needs a
bearer token, made afresh at each start: the kubeconfig (mode 0600) carries both, and
nothing else does. Any local process can reach a loopback port, and this API can create and
delete anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

CONTEXT = "jupyter-ack-sandbox"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# Dummy keys: moto accepts any; they never reach AWS.
ACCESS_KEY = "sandbox-access-key"
SECRET_KEY = "sandbox-secret-key"
CONTROLLER_USER = "system:serviceaccount:ack-system:ack-sagemaker-controller"
USER = "sandbox-admin"  # the kubeconfig's user, unless ``tokens`` are given


def crd_documents() -> list[dict[str, Any]]:
    """The project's own CRDs for the ACK SageMaker Pipeline and PipelineExecution."""
    import yaml

    folder = Path(__file__).parent / "crds"
    return [yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))]


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jupyter-ack" / "sandbox"


class Sandbox:
    """Kubernetes API emulator + ACK controller emulator + SageMaker/S3 (moto), on loopback.

    ``ack_period`` is the controller's requeue period (30 s like the real one; tests use
    less), ``step_seconds`` how long each simulated pipeline step runs, ``fail_steps`` maps
    step names to the failure reason they end with in every execution. ``tokens`` are the
    API server's users ({token: user}; tests use several for deny rules) and the kubeconfig
    uses the first; without them one random token for ``USER`` is made. The controller always
    has a token of its own.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str] | None = None,
        *,
        ack_period: float = 30.0,
        step_seconds: float = 5.0,
        fail_steps: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
    ) -> None:
        self._own_dir = state_dir is None
        self.state_dir = (
            Path(state_dir)
            if state_dir is not None
            else Path(tempfile.mkdtemp(prefix="jupyter-ack-sandbox-"))
        )
        self.ack_period = ack_period
        self.step_seconds = step_seconds
        self.fail_steps = dict(fail_steps or {})
        self.tokens = tokens
        self._controller_token = secrets.token_urlsafe(32)
        self.kube: Any = None
        self.moto: Any = None
        self.controller: Any = None
        self.started_in: float | None = None

    # lifecycle ----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        from .controller import AckController, ControllerSettings
        from .kubeapi import KubeApiServer
        from .sagemaker import SimulationSettings, start_moto

        began = time.perf_counter()
        # moto's HTTP server logs a line per request: keep the user's terminal for what matters
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self.moto = start_moto(
                SimulationSettings(step_seconds=self.step_seconds, fail_steps=dict(self.fail_steps))
            )
            users = dict(self.tokens) if self.tokens else {secrets.token_urlsafe(32): USER}
            token = next(iter(users))
            # the controller gets an identity of its own, never denied
            tokens = {**users, self._controller_token: CONTROLLER_USER}
            self.kube = KubeApiServer(host="127.0.0.1", port=0, crds=crd_documents(), tokens=tokens)
            self.kube.start()
            self.kube.write_kubeconfig(
                self.kubeconfig, context=CONTEXT, namespace="default", token=token
            )
            self.env_file.write_text(
                "".join(f"export {k}={v}\n" for k, v in self.env.items()), encoding="utf-8"
            )
            self.controller = AckController(
                self._controller_kube_client(),
                self._sagemaker_factory,
                ControllerSettings(
                    requeue_seconds=self.ack_period, region=REGION, account_id=ACCOUNT_ID
                ),
            )
            self.controller.start()
            if not self.controller.ready.wait(10):
                raise RuntimeError("the ACK controller emulator did not start watching in 10 s")
        except BaseException:
            self.stop()
            raise
        self.started_in = time.perf_counter() - began
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.request_stop()  # its watches end when the API server goes
        for part in (self.kube, self.controller, self.moto):
            if part is not None:
                with contextlib.suppress(Exception):  # stop every part we can
                    part.stop()
        self.controller = self.kube = self.moto = None
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # where things are ---------------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "env"

    @property
    def kube_url(self) -> str:
        """``https://127.0.0.1:<port>``: verify it with ``kube_ca_pem``, send a token."""
        return str(self.kube.url)

    @property
    def kube_ca_pem(self) -> bytes:
        """The API server's certificate (its own CA), as in the kubeconfig."""
        return bytes(self.kube.ca_pem)

    @property
    def aws_endpoint(self) -> str:
        return str(self.moto.url)

    @property
    def env(self) -> dict[str, str]:
        """What a shell, boto3 or kubectl needs to use the sandbox."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "KUBECONFIG": str(self.kubeconfig),
        }

    # knobs and faults ---------------------------------------------------------------------

    @property
    def faults(self) -> Any:
        """The API server's fault hooks: drop watches, fail N requests, compact, delay."""
        return self.kube.faults

    @property
    def simulation(self) -> Any:
        """SageMaker's simulation settings: step durations, failures, condition outcomes."""
        return self.moto.settings

    def fail_step(self, step: str, reason: str = "ClientError: injected failure") -> None:
        self.simulation.fail_steps[step] = reason

    # clients ------------------------------------------------------------------------------

    def kube_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` configured from the sandbox's kubeconfig."""
        from kubernetes import client, config

        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(self.kubeconfig), context=CONTEXT, client_configuration=configuration
        )
        return client.ApiClient(configuration)

    def aws_client(self, service: str, region: str = REGION) -> Any:
        """A boto3 client for the sandbox's S3 or SageMaker, with its dummy keys."""
        import boto3

        return boto3.session.Session().client(
            service,
            region_name=region,
            endpoint_url=self.aws_endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def _controller_kube_client(self) -> Any:
        """The controller's own identity: it bypasses the deny rules set for users."""
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.kube_url
        configuration.ssl_ca_cert = str(self.kube.ca_file)
        configuration.api_key = {"authorization": f"Bearer {self._controller_token}"}
        return client.ApiClient(configuration)

    def _sagemaker_factory(self, region: str) -> Any:
        return self.aws_client("sagemaker", region)
