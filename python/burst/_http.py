"""Finding the burst server and speaking its HTTP API (docs/api.md).

Discovery follows the CLI's rules (internal/discover): BURST_SERVER with
BURST_TOKEN (else the credential ``burst login`` stored for that URL, else
this home's token for a server of this host); else the server of the last
``burst login``; else the local server of $BURST_HOME (default ~/.burst)
through its unix socket, started with the ``burst`` command when none runs.

Retries follow the Go client's (client/retry.go): a read (GET) is asked
again whenever its answer did not come whole; a request that changes
something only when it was never sent (the connection could not be made).
This module uses the standard library alone.
"""

from __future__ import annotations

import getpass
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["BurstError", "SetupError", "HTTPError", "Conn"]

#: How long a call goes on asking once the server stopped answering it
#: (the Go client's DefaultRetry: long enough for a server to restart).
PATIENCE_S = 30.0
#: Local servers one connection may start (internal/discover.MaxStarts).
MAX_STARTS = 3


class BurstError(Exception):
    """A burst call failed; the message is one line that says what to fix."""


class SetupError(BurstError):
    """No server can be reached with this setup (no token, no server)."""


class HTTPError(BurstError):
    """An error answer of the server: ``status`` and its one-line message."""

    def __init__(self, status: int, message: str, unread: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        # unread: a 503 with Retry-After, turned away before it was read
        # (too many large bodies at once): safe to send again.
        self.unread = unread


class _Unsent(Exception):
    """The request was never sent: safe to send again whatever its method."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTPConnection over a unix socket (the local server's burst.sock)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("burst", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def _home() -> str:
    h = os.environ.get("BURST_HOME")
    if not h:
        h = os.path.join(os.path.expanduser("~"), ".burst")
    return os.path.abspath(h)


def _logins() -> Dict[str, Any]:
    """The logins ``burst login`` keeps (credentials.json); none is {}."""
    d = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(d, "burst", "credentials.json")
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise SetupError(f"{path} is damaged ({e}): remove it and log in again with `burst login URL`") from None
    if not isinstance(data, dict):
        raise SetupError(f"{path} is damaged: remove it and log in again with `burst login URL`")
    return data


def _read_token(home: str) -> str:
    try:
        with open(os.path.join(home, "token"), encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _this_host(base: str) -> bool:
    if base.startswith("unix://"):
        return True
    return _loopback(urllib.parse.urlsplit(base).hostname or "")


class _Found:
    """Where the server is: its address, token and the CA to trust."""

    def __init__(self, addr: str, token: str, ca: str = "", local_home: str = "") -> None:
        self.addr, self.token, self.ca, self.local_home = addr, token, ca, local_home


def _socket_answers(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def find(burst_exe: Optional[str] = None, start: bool = True, server: Optional[str] = None, token: Optional[str] = None) -> _Found:
    """Find the configured server as the CLI does (see the module's doc);
    ``server`` and ``token`` stand for BURST_SERVER and BURST_TOKEN."""
    addr = server or os.environ.get("BURST_SERVER", "")
    if addr:
        base, _, pin = addr.partition("#")
        base = base.rstrip("/")
        if pin and not base.startswith("https://"):
            raise SetupError(f"BURST_SERVER: {addr}: a pinned CA hash (#sha256:...) needs an https:// address")
        token = token or os.environ.get("BURST_TOKEN", "")
        lg = next((s for s in _logins().get("servers") or [] if s.get("url") == base), None)
        if not token and lg:
            token = lg.get("credential", "")
        if not token and _this_host(base):
            token = _read_token(_home())
        if not token:
            raise SetupError(f"BURST_SERVER={addr} is set but there is no credential for it: run `burst login {addr}` (or set BURST_TOKEN)")
        ca = (lg or {}).get("ca", "")
        if pin:
            ca = pinned_ca(base, pin)
        return _Found(base, token, ca)
    servers = _logins().get("servers") or []
    if servers:
        lg = servers[-1]
        return _Found(lg.get("url", ""), lg.get("credential", ""), lg.get("ca", ""))
    home = _home()
    sock = os.path.join(home, "burst.sock")
    token = os.environ.get("BURST_TOKEN") or _read_token(home)
    if token and _socket_answers(sock):
        return _Found("unix://" + sock, token, local_home=home)
    exe = burst_exe or os.environ.get("BURST_BIN") or shutil.which("burst")
    if not start or not exe:
        raise SetupError(f"no burst server answers on {sock} and there is no `burst` to start one: run `burst server` (or set BURST_SERVER and BURST_TOKEN)")
    # The CLI starts the local server (and says so on stderr) as any
    # command does; its rules (locks, a server still starting) are its own.
    try:
        r = subprocess.run([exe, "whoami"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60, env=dict(os.environ, BURST_HOME=home))
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SetupError(f"cannot start a local server with {exe}: {e}") from None
    said = r.stderr.decode("utf-8", "replace")
    if r.returncode == 0 and said:
        sys.stderr.write(said)  # "burst: started a local server (log: ...)"
    token = os.environ.get("BURST_TOKEN") or _read_token(home)
    if r.returncode != 0 or not token or not _socket_answers(sock):
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SetupError(msg[-1] if msg else f"cannot start a local server with {exe}: see {os.path.join(home, 'server.log')}")
    return _Found("unix://" + sock, token, local_home=home)


class Conn:
    """One server's connection: requests with the token, retried as the
    module's doc says, found again (the local server started anew) when it
    stops answering. Safe for use from several threads: each has its own
    connection (a long wait in one does not hold up another)."""

    def __init__(self, found: _Found, timeout: float = 60.0, patience: float = PATIENCE_S, burst_exe: Optional[str] = None) -> None:
        self._lock = threading.Lock()  # one reconnect at a time
        self._local = threading.local()  # this thread's (generation, connection)
        self._gen = 0
        self._timeout = timeout
        self.patience = patience
        self._burst_exe = burst_exe
        self._starts = 0
        self._user = _user()
        self._set(found)

    def _set(self, found: _Found) -> None:
        self.found = found
        self._gen += 1  # every thread's connection is to the old address
        addr = found.addr
        self._new: Callable[[], http.client.HTTPConnection]
        if addr.startswith("unix://"):
            self._new = lambda: _UnixHTTPConnection(addr[len("unix://"):], self._timeout)
            return
        u = urllib.parse.urlsplit(addr)
        if u.scheme == "http":
            if not _loopback(u.hostname or ""):
                raise SetupError(f"{addr}: a server beyond this host is reached over https:// only (the token would travel in clear)")
            self._new = lambda: http.client.HTTPConnection(u.hostname or "", u.port or 80, timeout=self._timeout)
        elif u.scheme == "https":
            ctx = _tls_context(addr, found.ca)
            self._new = lambda: http.client.HTTPSConnection(u.hostname or "", u.port or 443, timeout=self._timeout, context=ctx)
        else:
            raise SetupError(f"BURST_SERVER={addr}: give unix:///path, http://127.0.0.1:PORT or https://HOST:PORT")

    def request(self, method: str, path: str, body: Any = None, raw: Optional[bytes] = None, content_type: str = "application/json") -> Tuple[int, bytes]:
        """Send a request and return (status, body) of a 2xx answer; an error
        answer raises HTTPError, a server gone past patience BurstError."""
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        read = method == "GET"
        deadline = None
        wait = 0.05
        while True:
            try:
                return self._once(method, path, data, content_type)
            except HTTPError as e:
                if not e.unread:
                    raise
                err: BaseException = e
            except _Unsent as e:
                err = e.__cause__ or e
                if isinstance(err, ssl.SSLCertVerificationError):
                    raise BurstError(
                        f"{self.found.addr}: the server's certificate is not trusted here ({err.verify_message}): "
                        f"run `burst login {self.found.addr}#sha256:HASH` (the hash `burst server info` prints) or set BURST_CA to its ca.pem"
                    ) from None
            except (OSError, http.client.HTTPException) as e:
                if not read:
                    raise BurstError(
                        f"{method} {path.split('?')[0]}: the connection broke after the request was sent ({e}); "
                        "it may have been taken: `burst jobs` shows whether it was"
                    ) from None
                err = e
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.patience
            if now >= deadline:
                raise BurstError(f"the burst server at {self.found.addr} did not answer for {self.patience:.0f} s ({err}): is it running? (`burst server`)") from None
            self._reconnect()
            time.sleep(wait)
            wait = min(wait * 2, 1.0)

    def _once(self, method: str, path: str, data: Optional[bytes], ctype: str) -> Tuple[int, bytes]:
        c: Optional[http.client.HTTPConnection]
        gen, c = getattr(self._local, "conn", (0, None))
        if c is not None and (gen != self._gen or method != "GET"):
            # A change goes on a fresh connection: one the server closed
            # while idle could not be told from a request it took.
            c.close()
            c = None
        if c is None:
            gen, c = self._gen, self._new()
            try:
                c.connect()
            except OSError as e:
                raise _Unsent() from e
        self._local.conn = (0, None)
        headers = {"Authorization": "Bearer " + self.found.token, "X-Burst-User": self._user}
        if data is not None:
            headers["Content-Type"] = ctype
        try:
            c.request(method, path, body=data, headers=headers)
            resp = c.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException):
            c.close()
            raise
        if resp.getheader("Connection", "").lower() == "close":
            c.close()
        else:
            self._local.conn = (gen, c)
        if resp.status >= 300:
            try:
                msg = json.loads(payload).get("error") or payload.decode("utf-8", "replace")
            except (ValueError, AttributeError):
                msg = payload.decode("utf-8", "replace").strip() or resp.reason
            raise HTTPError(resp.status, msg, unread=resp.status == 503 and bool(resp.getheader("Retry-After")))
        return resp.status, payload

    def _reconnect(self) -> None:
        """Find the server again: a local one that went away is started anew
        (MAX_STARTS times at most)."""
        if not self.found.local_home:
            return
        with self._lock:  # another thread's start is seen, not repeated
            try:
                f = find(self._burst_exe, start=False)
            except SetupError:
                if self._starts >= MAX_STARTS:
                    return
                self._starts += 1
                f = find(self._burst_exe, start=True)
            self._set(f)

    def download(self, digest: str, dest: str) -> None:
        """Write the blob of digest to the file dest (0600, replaced whole),
        checking its hash; from the server, or the store's URL it redirects
        to (without the token). A cut transfer is asked again from the start
        while the server's patience lasts."""
        import hashlib

        deadline = time.monotonic() + self.patience
        while True:
            try:
                c = self._new()
                try:
                    c.request("GET", "/v1/blobs/" + digest, headers={"Authorization": "Bearer " + self.found.token, "X-Burst-User": self._user})
                    resp: Any = c.getresponse()
                    if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                        import urllib.request

                        resp = urllib.request.urlopen(resp.getheader("Location"), timeout=self._timeout)
                    elif resp.status >= 300:
                        body = resp.read()
                        try:
                            msg = json.loads(body).get("error") or ""
                        except (ValueError, AttributeError):
                            msg = body.decode("utf-8", "replace").strip()
                        raise HTTPError(resp.status, msg or resp.reason)
                    h = hashlib.sha256()
                    tmp = dest + ".part"
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "wb") as f:
                        while True:
                            chunk = resp.read(1 << 20)
                            if not chunk:
                                break
                            h.update(chunk)
                            f.write(chunk)
                    if "sha256:" + h.hexdigest() != digest:
                        os.unlink(tmp)
                        raise OSError(f"the bytes that came hash to sha256:{h.hexdigest()}, not {digest}")
                    os.replace(tmp, dest)
                    return
                finally:
                    c.close()
            except (OSError, http.client.HTTPException) as e:
                if time.monotonic() >= deadline:
                    raise BurstError(f"cannot fetch {digest} for {dest}: {e}") from None
                self._reconnect()
                time.sleep(0.2)

    def get_json(self, path: str) -> Any:
        return json.loads(self.request("GET", path)[1])

    def post_json(self, path: str, body: Any = None) -> Any:
        _, b = self.request("POST", path, body=body if body is not None else {})
        return json.loads(b) if b.strip() else None

    def close(self) -> None:
        """Close this thread's connection (others close with their threads)."""
        _, c = getattr(self._local, "conn", (0, None))
        if c is not None:
            c.close()
        self._local.conn = (0, None)


def pinned_ca(base: str, pin: str) -> str:
    """The CA (PEM) of the https:// server at base whose hash is pin: the
    SHA-256 of the SubjectPublicKeyInfo of a certificate of the chain the
    server presents (internal/pki.Pinned). The connection then trusts that
    CA alone, which must have signed the server's certificate for its name."""
    import hashlib

    if not pin.startswith("sha256:") or len(pin) != 71 or any(c not in "0123456789abcdef" for c in pin[7:]):
        raise SetupError(f"CA hash {pin!r}: want sha256: and 64 hex digits (as `burst server info` prints it)")
    u = urllib.parse.urlsplit(base)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only to read the chain: trusted below by its hash alone
    try:
        with socket.create_connection((u.hostname or "", u.port or 443), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname=u.hostname) as tls:
                obj = getattr(tls, "_sslobj", None)
                get_chain = getattr(obj, "get_unverified_chain", None)
                if get_chain is None:
                    raise SetupError(
                        f"{base}#{pin}: this python ({sys.version.split()[0]}) cannot show the chain a server sends, to check a pin: "
                        f"run `burst login {base}#{pin}` once (it keeps the CA) or set BURST_CA to the server's ca.pem"
                    )
                chain = [c.public_bytes(_ENCODING_DER) for c in get_chain()]
    except OSError as e:
        raise SetupError(f"{base}: cannot connect to check its CA ({e}): is the server running there?") from None
    seen = []
    for der in chain:
        h = "sha256:" + hashlib.sha256(_spki(der)).hexdigest()
        if h == pin:
            return ssl.DER_cert_to_PEM_cert(der)
        seen.append(h)
    raise SetupError(
        f"{base}: the server's CA does not match the pinned hash: pinned {pin}, the server presented {', '.join(seen)} "
        "(a URL for another server, or someone between)"
    )


#: The DER form for Certificate.public_bytes (ssl's _ssl.ENCODING_DER).
_ENCODING_DER = 2


def _spki(der: bytes) -> bytes:
    """The DER of a certificate's SubjectPublicKeyInfo (RFC 5280: the 7th
    field of tbsCertificate, the 6th when it has no explicit version)."""

    def tlv(b: bytes, i: int) -> Tuple[int, int, int]:  # (tag, start of value, end)
        tag, n = b[i], b[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(b[i : i + k], "big")
            i += k
        return tag, i, i + n

    _, cert, _ = tlv(der, 0)
    _, tbs, end = tlv(der, cert)
    i = tbs
    fields: List[Tuple[int, int, int]] = []
    while i < end and len(fields) < 7:
        tag, v, e = tlv(der, i)
        fields.append((tag, i, e))
        i = e
    if fields and fields[0][0] != 0xA0:  # no [0] version: v1
        fields.insert(0, (0xA0, 0, 0))
    if len(fields) < 7:
        raise SetupError("the server presented a certificate that cannot be read")
    _, start, stop = fields[6]
    return der[start:stop]


def _tls_context(addr: str, ca_pem: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_verify_locations(cadata=ca_pem)
    elif os.environ.get("BURST_CA"):
        f = os.environ["BURST_CA"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_verify_locations(cafile=f)
        except (OSError, ssl.SSLError) as e:
            raise SetupError(f"BURST_CA={f}: {e}: name the server's CA file (ca.pem, which `burst server info` names)") from None
    return ctx


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container)
        return os.environ.get("USER", "")
