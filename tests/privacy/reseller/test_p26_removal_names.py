"""The reseller's removal-request list names the customer it is about (P26, issue 15)."""

from __future__ import annotations

from tests.conftest import post_form


def test_p26_the_removal_list_names_the_customer_not_customer_page(as_r1, resellers):
    post_form(as_r1, f"/reseller/privacy/customers/{resellers.a1.id}/removal", {"note": ""},
              token_from=f"/reseller/customers/{resellers.a1.id}")
    page = as_r1.get("/reseller/privacy/requests/").get_data(as_text=True)
    removals = page.split("Removal requests to the host", 1)[1]
    assert f"#{resellers.a1.number} Carla Oneclient" in removals
    assert "customer page" not in removals
