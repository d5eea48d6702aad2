"""Logging out ends the session everywhere, even for a copy of the signed cookie."""


def test_a_copied_session_cookie_stops_working_after_logout(testapp, new_testapp, user):
    testapp.login_as(user)
    stolen = new_testapp()
    for name, value in testapp.cookies.items():
        stolen.set_cookie(name, value.strip('"'))
    stolen.get("/api/v1.0/users/me/", status=200)

    testapp.get("/api/v1.0/logout/", status=302)

    testapp.get("/api/v1.0/users/me/", status=401)
    stolen.get("/api/v1.0/users/me/", status=401)


def test_signing_in_again_gives_a_working_session(testapp, user):
    testapp.login_as(user)
    testapp.get("/api/v1.0/logout/")
    testapp.login("alice")
    assert testapp.get("/api/v1.0/users/me/").json["id"] == str(user.id)
