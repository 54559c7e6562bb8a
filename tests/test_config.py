"""Settings come from defaults, then the environment, then explicit overrides."""
from inference_gateway.config import load_config


def test_defaults():
    config = load_config(environ={})
    assert config["DATABASE_URL"] == "sqlite:///var/inference_gateway.store.db"
    assert config["API_KEYS"] == []
    assert config["MAX_AUDIO_BYTES"] == 25 * 1024 * 1024


def test_environment_then_overrides():
    env = {"GATEWAY_API_KEYS": "a,b", "UPSTREAM_MAX_RETRIES": "5", "LOG_BODIES": "true"}
    config = load_config({"UPSTREAM_MAX_RETRIES": 1}, environ=env)
    assert config["API_KEYS"] == ["a", "b"]
    assert config["UPSTREAM_MAX_RETRIES"] == 1
    assert config["LOG_BODIES"] is True


def test_data_dir_moves_the_default_database():
    assert load_config(environ={"DATA_DIR": "/srv/gw"})["DATABASE_URL"] == \
        "sqlite:////srv/gw/inference_gateway.store.db"
