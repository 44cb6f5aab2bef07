from accel.mlflow.flatten import config_hash, flatten_config, format_value


def test_flatten_config_uses_dotted_keys_and_indexes_list_items():
    config = {"model": {"name": "mlp", "layers": [4, {"act": "relu"}]}, "lr": 0.1}
    assert flatten_config(config) == {
        "model.name": "mlp",
        "model.layers.0": 4,
        "model.layers.1.act": "relu",
        "lr": 0.1,
    }


def test_flatten_config_keeps_empty_containers_and_none():
    assert flatten_config({"a": {}, "b": [], "c": None}) == {"a": {}, "b": [], "c": None}


def test_format_value_writes_json_for_non_strings():
    assert [format_value(v) for v in ("x", None, True, 3, 0.5, [])] == [
        "x",
        "null",
        "true",
        "3",
        "0.5",
        "[]",
    ]


def test_config_hash_ignores_key_order_and_sees_values():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert len(config_hash({})) == 64
