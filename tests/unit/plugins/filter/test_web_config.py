"""The web config model (exporter-toolkit's --web.config.file) and its users, hashes and checks."""

import warnings

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.exporter_flags import node_exporter_flags
from ansible_collections.sdstack.consul.plugins.filter.prometheus import prometheus_consul_scrape_configs
from ansible_collections.sdstack.consul.plugins.filter.prometheus_server import prometheus_server
from ansible_collections.sdstack.consul.plugins.filter.web_config import (
    CHECK_MODE_PASSWORD, FilterModule, bcrypt_salt, web_config, web_health_check, web_password_files,
    web_password_hash, web_users)
from prometheus_role import settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # pylint: disable=deprecated-module,wrong-import-order,wrong-import-position


def test_hash_is_bcrypt_stable_and_verifies():
    first = web_password_hash("s3cret", "admin")
    assert first.startswith("$2b$10$") and len(first) == 60
    # Same secret, same hash: a rerun rewrites nothing.
    assert web_password_hash("s3cret", "admin") == first
    # What the server does with it: bcrypt of the offered password with the stored salt.
    assert crypt.crypt("s3cret", first) == first
    assert crypt.crypt("wrong", first) != first


def test_salt_differs_per_user_and_password_and_is_a_valid_bcrypt_salt():
    salts = {bcrypt_salt("a", "admin"), bcrypt_salt("a", "prometheus"), bcrypt_salt("b", "admin")}
    assert len(salts) == 3
    for salt in salts:
        # 16 bytes in bcrypt's base64: 22 characters, the last one carrying 2 bits only.
        assert len(salt) == 22 and salt[-1] in ".Oeu"


@pytest.mark.parametrize("password", ["", "   ", None])
def test_empty_password_is_refused(password):
    with pytest.raises(AnsibleFilterError, match="the password of user 'admin' is empty"):
        web_password_hash(password, "admin")


def node(**kw):
    return dict({"node_exporter_web_tls": True, "node_exporter_web_basic_auth_users": {"prometheus": "p"}}, **kw)


def test_web_config_with_tls_and_users():
    out = web_config(node(node_exporter_web_config_dir="/etc/ne/"), "node_exporter")
    assert out["enabled"] is True and out["scheme"] == "https" and out["basic_auth"] is True
    assert out["file"] == "/etc/ne/web.yml"
    config = out["config"]
    assert config["tls_server_config"] == {"cert_file": "/etc/ne/web-cert.pem", "key_file": "/etc/ne/web-key.pem"}
    assert list(config["basic_auth_users"]) == ["prometheus"]
    assert crypt.crypt("p", config["basic_auth_users"]["prometheus"]) == config["basic_auth_users"]["prometheus"]


def test_web_config_off_is_plain_http_without_a_file():
    out = web_config({"node_exporter_web_tls": False}, "node_exporter")
    assert out["enabled"] is False and out["config"] is None and out["scheme"] == "http"


def test_tls_without_users_has_no_basic_auth():
    out = web_config(node(node_exporter_web_basic_auth_users={}), "node_exporter")
    assert out["basic_auth"] is False and "basic_auth_users" not in out["config"]


@pytest.mark.parametrize("change, message", [
    ({"node_exporter_web_tls": False},
     "node_exporter_web_basic_auth_users needs node_exporter_web_tls: true (basic auth over plain HTTP"),
    ({"node_exporter_web_tls": "maybe"}, "node_exporter_web_tls must be true or false, got 'maybe'"),
    ({"node_exporter_web_basic_auth_users": {"a:b": "x"}}, "node_exporter_web_basic_auth_users: 'a:b' is not a user"),
    ({"node_exporter_web_basic_auth_users": {"a": ""}}, "node_exporter_web_basic_auth_users: the password of a is empty"),
    ({"node_exporter_web_basic_auth_users": ["a"]}, "node_exporter_web_basic_auth_users must be a dict"),
])
def test_bad_web_settings_fail_in_one_line(change, message):
    with pytest.raises(AnsibleFilterError) as err:
        web_config(node(**change), "node_exporter")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_empty_passwords_are_read_from_the_secrets_folder(tmp_path):
    users = {"admin": "", "prometheus": None, "given": "g"}
    files = web_password_files(users, str(tmp_path) + "/", "v")
    assert files == [{"user": "admin", "path": "%s/web/admin.password" % tmp_path},
                     {"user": "prometheus", "path": "%s/web/prometheus.password" % tmp_path}]
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "admin.password").write_text("A\n")
    (tmp_path / "web" / "prometheus.password").write_text("P\n")
    assert web_users(users, str(tmp_path), "v") == {"admin": "A", "prometheus": "P", "given": "g"}


def test_a_missing_password_file_fails_except_in_a_check_run(tmp_path):
    with pytest.raises(AnsibleFilterError, match="v: the password file .*/web/admin.password of admin is missing"):
        web_users({"admin": ""}, str(tmp_path), "v")
    assert web_users({"admin": ""}, str(tmp_path), "v", check_mode=True) == {"admin": CHECK_MODE_PASSWORD}


@pytest.mark.parametrize("users, secrets, message", [
    ({"../x": ""}, "/s", "v: '../x' is not a user name the role can choose a password for"),
    ({"admin": ""}, "", "v: admin has no password and no secrets folder is set"),
])
def test_password_files_refuse_what_they_cannot_keep(users, secrets, message):
    with pytest.raises(AnsibleFilterError) as err:
        web_password_files(users, secrets, "v")
    assert message in str(err.value)


def test_health_check_is_tcp_behind_the_web_config():
    assert web_health_check({"enabled": True}, "10.0.0.1", 9100, "/metrics", "10s") == {
        "tcp": "10.0.0.1:9100", "interval": "10s"}
    assert web_health_check({"enabled": False}, "fd00::1", 9100, "/metrics", "10s") == {
        "http": "http://[fd00::1]:9100/metrics", "interval": "10s"}


def test_node_exporter_gets_the_flag_only_with_the_web_config():
    base = {"node_exporter_listen_address": ":9100", "node_exporter_extra_args": []}
    on = node_exporter_flags(dict(base, **node()))
    assert on["args"] == ["--web.listen-address=:9100", "--web.config.file=/etc/node_exporter/web.yml"]
    assert on["web"]["enabled"] is True
    assert node_exporter_flags(base)["args"] == ["--web.listen-address=:9100"]
    with pytest.raises(AnsibleFilterError, match="is set by the role"):
        node_exporter_flags(dict(base, node_exporter_extra_args=["--web.config.file=/x"]))


JOB = {"job_name": "ne", "servers": ["127.0.0.1:443"], "scheme": "https", "scrape_scheme": "https"}


def test_consul_job_scrapes_with_basic_auth():
    out = prometheus_consul_scrape_configs([dict(JOB, scrape_basic_auth={"username": "prometheus", "password": "p "})],
                                           ca_file="/ca.pem", version="2.24.1")[0]
    assert out["basic_auth"] == {"username": "prometheus", "password": "p"}
    assert out["scheme"] == "https" and out["tls_config"] == {"ca_file": "/ca.pem"}


@pytest.mark.parametrize("auth, message", [
    ({"username": "u"}, "scrape_basic_auth must be a dict with exactly username and password"),
    ({"username": "u:x", "password": "p"}, "username 'u:x' is not a user name"),
    ({"username": "u", "password": " "}, "the password of u is empty"),
])
def test_bad_scrape_basic_auth(auth, message):
    with pytest.raises(AnsibleFilterError) as err:
        prometheus_consul_scrape_configs([dict(JOB, scrape_basic_auth=auth)])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_basic_auth_and_a_bearer_token_exclude_each_other():
    with pytest.raises(AnsibleFilterError, match="scrape_basic_auth and scrape_token exclude each other"):
        prometheus_consul_scrape_configs([dict(JOB, scrape_token="t",
                                               scrape_basic_auth={"username": "u", "password": "p"})])


def secure(**kw):
    return settings("2.24.1", prometheus_web_tls=True,
                    prometheus_web_basic_auth_users={"admin": "a", "prometheus": "p"}, **kw)


def test_prometheus_serves_https_and_reaches_itself_with_its_user():
    out = prometheus_server(secure())
    assert out["flags"][-1] == "--web.config.file=/etc/prometheus/web.yml"
    assert out["local_url"] == "https://127.0.0.1:9090"
    assert out["client"] == {"ca_file": "/etc/prometheus/web-ca.pem",
                             "basic_auth": {"username": "prometheus", "password": "p"}}
    assert sorted(out["web"]["config"]["basic_auth_users"]) == ["admin", "prometheus"]
    self_job = out["config"]["scrape_configs"][-1]
    assert self_job["job_name"] == "prometheus" and self_job["scheme"] == "https"
    assert self_job["tls_config"] == {"ca_file": "/etc/prometheus/web-ca.pem"}
    assert self_job["basic_auth"] == {"username": "prometheus", "password": "p"}
    # The configuration holds a password now: the role shows no diff of it.
    assert out["has_secrets"] is True


def test_prometheus_without_the_web_config_is_unchanged():
    out = prometheus_server(settings())
    assert out["local_url"].startswith("http://") and out["client"] == {}
    assert not any(f.startswith("--web.config.file") for f in out["flags"])


def test_the_scrape_user_must_be_one_of_the_users():
    with pytest.raises(AnsibleFilterError, match="prometheus_web_scrape_user 'nobody' is not one of "
                                                 "prometheus_web_basic_auth_users \\(admin, prometheus\\)"):
        prometheus_server(secure(prometheus_web_scrape_user="nobody"))


def test_the_web_config_flag_is_the_roles():
    with pytest.raises(AnsibleFilterError, match="is set by the role"):
        prometheus_server(settings(prometheus_extra_args=["--web.config.file=/x.yml"]))


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"web_config", "web_password_hash", "web_password_files", "web_users",
                                             "web_health_check"}
