"""Fixtures for running the official Zoho CRM Python SDK (zohocrmsdk8-0) against zcrm.

One zcrm server is started per test session, on an ephemeral port with a fresh data dir.
Credentials come from `zcrm admin self-client`, and the SDK is initialised the way an SDK
user would point it at a custom host: a DataCenter.Environment carrying our URLs, an
OAuthToken built from a Self Client grant code, and a FileStore token store. Nothing in the
SDK's request or response handling is patched.

Environment:
  ZCRM_BIN           path of the zcrm binary (default <repo>/target/release/zcrm)
  ZCRM_DATABASE_URL  passed through to the server (PostgreSQL backend) when set
  ZCRM_KEEP_DATA=1   keep the temp data dir and print its location (debugging)
"""

import contextlib
import itertools
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
REPO = HERE.parent.parent

# Local traffic must never go through a proxy configured in the environment.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore  # noqa: E402
from zohocrmsdk.src.com.zoho.api.logger import Logger  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer  # noqa: E402
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig  # noqa: E402

# Every scope the suite needs for the main identity. The implicit calls the SDK makes
# after a token grant need ZohoCRM.users.READ (users?type=CurrentUser) and ZohoCRM.org.READ
# (org); record calls need ZohoCRM.settings.fields.READ (field metadata) and, for related
# records, ZohoCRM.settings.related_lists.READ. See docs/compatibility.md.
FULL_SCOPES = [
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.users.ALL",
    "ZohoCRM.org.ALL",
    "ZohoCRM.coql.READ",
    "ZohoCRM.bulk.ALL",
    "ZohoCRM.notifications.ALL",
    "ZohoCRM.mass_update.UPDATE",
    "ZohoCRM.mass_update.READ",
    "ZohoCRM.composite_requests.CUSTOM",
    "ZohoFiles.files.ALL",
    "ZohoCRM.files.ALL",
    "ZohoSearch.securesearch.READ",
]

HEALTH_TIMEOUT_S = 60


def zcrm_bin():
    return os.environ.get("ZCRM_BIN") or str(REPO / "target" / "release" / "zcrm")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ZcrmServer:
    """A running `zcrm serve` process plus the admin commands that go with it."""

    def __init__(self, binary, data_dir):
        self.binary = binary
        self.data_dir = pathlib.Path(data_dir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log_path = self.data_dir.parent / "zcrm-serve.log"
        self.proc = None

    def start(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.env = dict(os.environ)
        self.pg_db = None
        admin_url = os.environ.get("ZCRM_CONFORMANCE_DATABASE_URL")
        if admin_url:
            # A fresh PostgreSQL database for this run, dropped in stop().
            self.pg_db = "zcrm_sdk_%d_%d" % (os.getpid(), self.port)
            self.pg_admin = admin_url
            subprocess.run(["psql", admin_url, "-qc", "CREATE DATABASE %s" % self.pg_db], check=True)
            self.env["ZCRM_DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + self.pg_db
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "serve",
             "--listen", "127.0.0.1:%d" % self.port,
             "--data-dir", str(self.data_dir),
             "--public-url", self.url],
            stdout=log, stderr=subprocess.STDOUT, env=self.env,
        )
        deadline = time.time() + HEALTH_TIMEOUT_S
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("zcrm serve exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                with urllib.request.urlopen(self.url + "/__zcrm/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("zcrm serve did not answer /__zcrm/health within %ds:\n%s"
                           % (HEALTH_TIMEOUT_S, self.log_tail()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "pg_db", None):
            subprocess.run(["psql", self.pg_admin, "-qc", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pg_db])
            self.pg_db = None

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def admin(self, *args):
        """`zcrm admin <args> --data-dir DIR` -> its stdout."""
        out = subprocess.run(
            [self.binary, "admin", *args, "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, timeout=60, env=getattr(self, "env", dict(os.environ)),
        )
        if out.returncode != 0:
            raise RuntimeError("zcrm admin %s failed (%d): %s" % (" ".join(args), out.returncode, out.stderr))
        return out.stdout

    def self_client(self, scopes, expiry=600):
        """`zcrm admin self-client` -> {"client_id", "client_secret", "code"}."""
        out = subprocess.run(
            [self.binary, "admin", "self-client",
             "--data-dir", str(self.data_dir),
             "--scope", ",".join(scopes),
             "--expiry", str(expiry),
             "--json"],
            capture_output=True, text=True, timeout=60, env=getattr(self, "env", dict(os.environ)),
        )
        if out.returncode != 0:
            raise RuntimeError("zcrm admin self-client failed (%d): %s" % (out.returncode, out.stderr))
        creds = json.loads(out.stdout.strip().splitlines()[-1])
        for key in ("client_id", "client_secret", "code"):
            assert isinstance(creds.get(key), str) and creds[key], "self-client output lacks %s: %r" % (key, creds)
        return creds


def environment_for(url):
    """The public way to point the SDK at a non-Zoho host.

    url           -> base of /crm/v8/... and /crm/bulk/v8/...
    accounts_url  -> the full token URL (the SDK POSTs to it as-is; revoke is accounts_url + "/revoke")
    file_upload_url -> replaces https://content.zohoapis.com in bulk-write uploads
    """
    return DataCenter.Environment(url, url + "/oauth/v2/token", url)


class Sdk:
    """The SDK as configured for the session, plus helpers to switch identities."""

    def __init__(self, server, workdir):
        self.server = server
        self.workdir = pathlib.Path(workdir)
        self.environment = environment_for(server.url)
        self.resource_path = str(self.workdir / "sdk-resources")
        os.makedirs(self.resource_path, exist_ok=True)
        self.store_path = str(self.workdir / "sdk_tokens.csv")
        self.store = FileStore(self.store_path)
        # auto_refresh_fields=False (the default) keeps field metadata cached per identity on disk;
        # pick-list validation stays on, as for any SDK user.
        self.config = SDKConfig(auto_refresh_fields=False, pick_list_validation=True,
                                connect_timeout=10.0, read_timeout=60.0)
        self.log_path = str(self.workdir / "sdk.log")
        self._logger_installed = False
        self.client = None
        self.token = None

    def _logger(self):
        if not self._logger_installed:
            self._logger_installed = True
            return Logger.get_instance(Logger.Levels.INFO, self.log_path)
        # No file path: do not add a second handler, only keep the level.
        return Logger.get_instance(Logger.Levels.INFO, None)

    def initialize(self, token, store=None):
        Initializer.initialize(environment=self.environment, token=token, store=store or self.store,
                               sdk_config=self.config, resource_path=self.resource_path,
                               logger=self._logger())

    def login(self):
        """Main identity: a fresh Self Client with every scope the suite uses."""
        self.client = self.server.self_client(FULL_SCOPES)
        self.token = OAuthToken(client_id=self.client["client_id"],
                                client_secret=self.client["client_secret"],
                                grant_token=self.client["code"])
        self.initialize(self.token)
        return self

    def restore(self):
        self.initialize(self.token)

    @contextlib.contextmanager
    def acting_as(self, token, store=None):
        """Run a block with another token (and by default a separate token store)."""
        if store is None:
            store = FileStore(tempfile.mktemp(prefix="store-", suffix=".csv", dir=str(self.workdir)))
        try:
            self.initialize(token, store)
            yield store
        finally:
            self.restore()

    def new_store(self):
        return FileStore(tempfile.mktemp(prefix="store-", suffix=".csv", dir=str(self.workdir)))


def pytest_configure(config):
    config.addinivalue_line("markers", "operation(name): the API operation a test covers (report label)")


def pytest_collection_modifyitems(config, items):
    """Copy the operation label and the waiting issue into user_properties (written to results.xml)."""
    for item in items:
        doc = (getattr(item.function, "__doc__", None) or item.name).strip().splitlines()[0].strip()
        item.user_properties.append(("operation", doc))
        area = item.module.__name__.replace("test_", "")
        item.user_properties.append(("area", area))
        marker = item.get_closest_marker("xfail")
        if marker is not None:
            item.user_properties.append(("waits_on", str(marker.kwargs.get("reason", ""))))


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="zcrm-pysdk-")
    yield pathlib.Path(d)
    if os.environ.get("ZCRM_KEEP_DATA") == "1":
        print("\n[conformance] kept %s" % d)
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server(workdir):
    binary = zcrm_bin()
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        pytest.fail("zcrm binary not found at %s (build it, or set ZCRM_BIN)" % binary, pytrace=False)
    srv = ZcrmServer(binary, workdir / "data")
    try:
        srv.start()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def sdk(server, workdir):
    s = Sdk(server, workdir)
    s.login()
    return s


@pytest.fixture(autouse=True)
def _main_identity(sdk):
    """Every test starts with the SDK initialised as the main identity."""
    sdk.restore()
    yield


_UNIQ = itertools.count(1)


@pytest.fixture
def uniq():
    """A short token unique to the test run, safe inside names, emails, criteria and COQL literals."""
    return "t%x%02d%03d" % (int(time.time()) % 0xFFFFFF, os.getpid() % 100, next(_UNIQ))
