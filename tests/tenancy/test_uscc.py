import pytest

from asset_registry.tenancy.uscc import check_character, is_valid_uscc


@pytest.mark.parametrize("code", ["91350100M000100Y43", "11140500012345678X"[:17]])
def test_check_character_round_trip(code):
    body = code[:17]
    assert is_valid_uscc(body + check_character(body))


def test_known_valid_code():
    # 福建省 example from GB 32100 commentary
    assert is_valid_uscc("91350100M000100Y43")


@pytest.mark.parametrize(
    "bad", ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100YI3", "", "abc"]
)
def test_invalid_codes(bad):
    assert not is_valid_uscc(bad)


def test_malformed_uscc_is_a_clear_message(login):
    c = login("admin")
    r = c.post(
        "/admin/orgs/new",
        {
            "code": "x1",
            "name": "测试单位",
            "kind": "institution",
            "parent_id": 1,
            "uscc": "91350100M000100Y44",
        },
    )
    assert r.status_code == 200
    assert "统一社会信用代码格式或校验位不正确" in r.get_data(as_text=True)
