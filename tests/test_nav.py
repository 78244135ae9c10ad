"""The navbar offers only what the active role may open."""


def nav(c) -> str:
    html = c.get("/dashboard/").get_data(as_text=True)
    return html.split('id="mainnav"', 1)[1].split("</ul>", 1)[0]


def test_manager_sees_import_and_plans(login):
    links = nav(login("rmyy"))
    assert "/imports/" in links and "/plans/" in links and "/assets/" in links


def test_regulator_and_reviewer_do_not_see_what_they_cannot_open(login):
    for username in ("scjg", "wjw"):
        c = login(username)
        links = nav(c)
        assert "/imports/" not in links
        assert c.get("/imports/").status_code == 404
    assert "/plans/queue" in nav(login("wjw"))
    assert "/plans/queue" not in nav(login("rmyy"))
