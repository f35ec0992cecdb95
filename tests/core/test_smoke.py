from tests.conftest import login


def test_subscriber_signs_in_and_sees_own_area(client, factories):
    user = factories.subscriber(email="Ada@Example.com")
    response = login(client, "  ada@example.COM ")
    assert response.status_code == 302
    page = client.get("/client/")
    assert page.status_code == 200
    assert "Welcome, Ada" in page.get_data(as_text=True)
    assert str(user.account.number) in page.get_data(as_text=True)
