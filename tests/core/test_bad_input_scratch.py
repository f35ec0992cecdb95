from tests.conftest import login, post_form


def test_probe(app, client, factories):
    a = factories.subscriber(first_name="Alice")
    admin = factories.staff("admin")
    login(client, admin)
    for q in ["²", "9" * 40, "a\x00b", "+44\x00", "x@\x00", "x" * 10000, "x%ED%A0%80", "@", "+", "a@" + "b" * 300]:
        r = client.get("/admin/", query_string={"q": q})
        print(repr(q[:20]), r.status_code)
    r = client.get("/login?next=/%5Cevil.example")
    for nxt in ["/%5Cevil.example", "/%5C%5Cevil.example", "https://evil.example/", "//evil.example", "/%09/evil.example"]:
        c = app.test_client()
        r = post_form(c, "/login?next=" + nxt, {"email": a.email, "password": "correct horse battery"})
        print(nxt, r.status_code, r.headers.get("Location"))
    r = post_form(client, "/admin/plugins", {"name": "privacy", "action": "bogus"})
    print("plugin bogus", r.status_code, r.headers.get("Location"))
