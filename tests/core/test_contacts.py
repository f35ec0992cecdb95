"""Editing account and domain-contact data, by the subscriber, their reseller and staff."""

from __future__ import annotations

from tests.conftest import login, post_form

CONTACT = {"name": "Zoë Müller", "organization": "", "email": "zoe@example.org",
           "phone": "+49 30 901820", "street": "Unter den Linden 1", "city": "Berlin",
           "state": "", "postcode": "10117", "country": "DE"}


def test_p05_subscriber_corrects_a_domain_contact(client, factories, login_as):
    user = login_as("subscriber")
    domain = factories.domain(user.account)
    url = f"/client/domains/{domain.id}/contacts/admin"
    response = post_form(client, url, CONTACT)
    assert response.status_code == 302
    contact = domain.contact("admin")
    assert (contact.name, contact.phone, contact.country) == ("Zoë Müller", "+4930901820", "DE")
    page = client.get(f"/client/domains/{domain.id}").get_data(as_text=True)
    assert "Zoë Müller" in page and "zoe@example.org" in page


def test_p05_copy_profile_into_a_contact_fills_the_form_without_saving(client, factories, login_as):
    user = login_as("subscriber", first_name="Ngozi", last_name="Okafor", address1="5 Marina",
                    city="Lagos", postcode="100001", country="NG")
    domain = factories.domain(user.account)
    url = f"/client/domains/{domain.id}/contacts/tech"
    before = domain.contact("tech").name
    page = post_form(client, url, {"copy_profile": "1"}).get_data(as_text=True)
    assert 'value="Ngozi Okafor"' in page and 'value="5 Marina"' in page
    assert "Check it and save" in page
    assert domain.contact("tech").name == before  # nothing saved until the user saves


def test_staff_finds_a_customer_by_exact_email_phone_number_or_domain(client, factories, login_as):
    target = factories.subscriber(email="Findme@Example.com", phone="+447700900123")
    factories.subscriber(email="other@example.com")
    factories.domain(target.account, "findme.test")
    login_as("staff")
    for term in ("findme@example.com", " FINDME@example.COM ", "+447700900123",
                 str(target.account.number), "findme.test"):
        page = post_form(client, "/admin/", {"q": term}).get_data(as_text=True)
        assert f"/admin/customers/{target.account_id}" in page, term
        assert page.count("/admin/customers/") == 1, term
    page = post_form(client, "/admin/", {"q": "findme"}).get_data(as_text=True)
    assert "No customers found." in page  # exact lookups only: no substring search over sealed data


def test_reseller_corrects_its_own_customer(app, client, factories):
    reseller = factories.reseller()
    customer = factories.subscriber(reseller=reseller)
    login(client, reseller)
    url = f"/reseller/customers/{customer.account_id}"
    response = post_form(client, url, {"first_name": "José", "last_name": "García",
                                       "phone": "+34911234567", "country": "ES"})
    assert response.status_code == 302
    assert "José García" in client.get(url).get_data(as_text=True)


def test_p05_postal_code_must_fit_the_country_where_its_shape_is_known(client, factories, login_as):
    user = login_as("subscriber")
    domain = factories.domain(user.account)
    url = f"/client/domains/{domain.id}/contacts/admin"
    wrong = post_form(client, url, {**CONTACT, "postcode": "ABC"})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert "does not look like a postal code for DE (for example 10115)" in page
    assert 'value="ABC"' in page  # what was typed is kept
    assert domain.contact("admin").postcode == "SW1A 1AA"  # nothing saved
    profile = post_form(client, "/client/profile", {"first_name": "A", "last_name": "B",
                                                    "phone": "+14155550123", "country": "US",
                                                    "postcode": "9021"})
    assert profile.status_code == 400 and "12345 or 12345-6789" in profile.get_data(as_text=True)
    elsewhere = post_form(client, url, {**CONTACT, "country": "AR", "postcode": "C1425"})
    assert elsewhere.status_code == 302  # no known shape: accepted as typed
