def test_config(testapp):
    res = testapp.get("/api/v1.0/config/")
    assert res.json["resource"]["default_access_level"] == "public"


def test_login_flow(testapp, dbsession):
    testapp.login("alice")
    me = testapp.get("/api/v1.0/users/me/").json
    assert me["email"] == "alice@example.org"
