"""Client.from_remote: the lxc/incus configuration reader and its remotes."""

from __future__ import annotations

import os

import pytest

from pylxd import _remotes, exceptions
from pylxd.client import Client

LXC_CONFIG = """\
default-remote: prod
remotes:
  images:
    addr: https://images.linuxcontainers.org
    protocol: simplestreams
    public: true
  local:
    addr: unix://
    public: false
  prod:
    addr: https://127.0.0.1:8444
    auth_type: tls
    project: web
    protocol: lxd
    public: false
aliases: {}
"""


@pytest.fixture
def conf(tmp_path):
    (tmp_path / "config.yml").write_text(LXC_CONFIG)
    return tmp_path


def _certs(directory, remote=None):
    for name in ("client.crt", "client.key"):
        (directory / name).write_text("-----BEGIN X-----\n")
    if remote:
        (directory / "servercerts").mkdir(exist_ok=True)
        (directory / "servercerts" / f"{remote}.crt").write_text("-----BEGIN X-----\n")


def test_reads_what_lxc_remote_add_writes():
    parsed = _remotes.parse_config(LXC_CONFIG)
    assert parsed["default-remote"] == "prod"
    assert parsed["remotes"]["images"] == {
        "addr": "https://images.linuxcontainers.org",
        "protocol": "simplestreams",
        "public": True,
    }
    assert parsed["aliases"] == {}


def test_reads_quotes_comments_numbers_and_lists():
    text = (
        "# written by hand\n"
        "default-remote: 'it''s'  # the default\n"
        'remotes:\n  "a b":\n    addr: "https://h:1#x"\n    keepalive: 30\n'
        "    roles:\n    - one\n    - 'two'\n"
        "empty: []\n"
    )
    parsed = _remotes.parse_config(text)
    assert parsed == {
        "default-remote": "it's",
        "remotes": {
            "a b": {"addr": "https://h:1#x", "keepalive": 30, "roles": ["one", "two"]}
        },
        "empty": [],
    }


@pytest.mark.parametrize(
    "text, why",
    [
        ("a: 1\n  b: 2\n", "line 2: unexpected indentation"),
        ("a: {x: 1}\n", "line 1: unsupported YAML"),
        ("a: |\n  text\n", "line 1: unsupported YAML"),
        ("a: 1\na: 2\n", "line 2: duplicate key 'a'"),
        ("just text\n", "line 1: expected 'key: value'"),
        ("a: b: c\n", "line 1: compact nested"),
    ],
)
def test_refuses_what_it_cannot_read_naming_the_line(text, why):
    with pytest.raises(exceptions.ClientConnectionFailed, match=why):
        _remotes.parse_config(text, "cfg.yml")


def test_default_remote_with_project_certificate_and_pinned_server_cert(conf):
    _certs(conf, "prod")
    assert _remotes.client_arguments(None, str(conf)) == {
        "endpoint": "https://127.0.0.1:8444",
        "project": "web",
        "cert": (str(conf / "client.crt"), str(conf / "client.key")),
        "verify": str(conf / "servercerts" / "prod.crt"),
    }


def test_https_remote_without_files_uses_the_system_defaults(conf):
    assert _remotes.client_arguments("prod", str(conf)) == {
        "endpoint": "https://127.0.0.1:8444",
        "project": "web",
    }


def test_local_is_the_lxd_socket(conf, monkeypatch):
    monkeypatch.setenv("LXD_DIR", "/run/my-lxd")
    assert _remotes.client_arguments("local", str(conf)) == {
        "endpoint": "/run/my-lxd/unix.socket"
    }


def test_local_of_an_incus_configuration_is_the_incus_socket(tmp_path, monkeypatch):
    conf = tmp_path / "incus"
    conf.mkdir()
    (conf / "config.yml").write_text(
        "default-remote: local\nremotes:\n  local:\n    addr: unix://\n"
        "    protocol: incus\n    public: false\n"
    )
    monkeypatch.delenv("INCUS_DIR", raising=False)
    assert _remotes.client_arguments(None, str(conf)) == {
        "endpoint": "/var/lib/incus/unix.socket"
    }


def test_an_explicit_socket_address(tmp_path):
    (tmp_path / "config.yml").write_text(
        "remotes:\n  s:\n    addr: unix:///tmp/other.socket\n"
    )
    assert (
        _remotes.client_arguments("s", str(tmp_path))["endpoint"] == "/tmp/other.socket"
    )


def test_image_servers_and_unknown_remotes_are_refused(conf):
    with pytest.raises(exceptions.InvalidArgument, match="'images' is a simplestreams"):
        Client.from_remote("images", config_dir=str(conf))
    with pytest.raises(
        exceptions.InvalidArgument, match="No remote 'nope'.*images, local, prod"
    ):
        Client.from_remote("nope", config_dir=str(conf))


def test_discovery_order_honours_lxd_conf_then_incus_conf(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    lxd = tmp_path / "lxd-conf"
    incus = tmp_path / "incus-conf"
    monkeypatch.setenv("LXD_CONF", str(lxd))
    monkeypatch.setenv("INCUS_CONF", str(incus))
    dirs = _remotes.config_dirs()
    assert dirs[0] == (str(lxd), "lxd")
    assert (str(incus), "incus") in dirs
    incus.mkdir()
    (incus / "config.yml").write_text(
        "default-remote: x\nremotes:\n  x:\n    addr: https://10.0.0.1:8443\n"
        "    protocol: incus\n"
    )
    assert _remotes.client_arguments(None, None)["endpoint"] == "https://10.0.0.1:8443"
    lxd.mkdir()
    (lxd / "config.yml").write_text(LXC_CONFIG)
    assert _remotes.client_arguments(None, None)["project"] == "web"


def test_no_configuration_means_the_local_socket(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("LXD_CONF", raising=False)
    monkeypatch.delenv("INCUS_CONF", raising=False)
    monkeypatch.setenv("LXD_DIR", str(tmp_path))
    assert _remotes.client_arguments(None, None) == {
        "endpoint": os.path.join(str(tmp_path), "unix.socket")
    }
