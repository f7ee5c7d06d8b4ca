"""Every link of the desk navigation opens for the role it is shown to."""
import re

import pytest


@pytest.mark.parametrize("username", ["sup_t1", "sup_county", "inspector", "admin"])
def test_every_desk_navigation_link_opens(client, world, login, username):
    login(username)
    page = client.get("/progress/").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)"[^>]*data-testid="nav-[a-z]+"', page)
    assert len(links) >= 6
    for href in links:
        assert client.get(href).status_code == 200, href


DESK_PAGES = {
    "sup_t1": ["/account", "/account/password", "/register/coverage"],
    "sup_county": ["/account", "/register/coverage"],
    "inspector": ["/account", "/register/coverage"],
    "admin": ["/account", "/admin/users", "/admin/audit", "/register/", "/register/coverage"],
}


@pytest.mark.parametrize("username", sorted(DESK_PAGES))
def test_desk_navigation_shows_on_account_admin_and_register_pages(client, world, login,
                                                                    username):
    login(username)
    for url in DESK_PAGES[username]:
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert 'data-testid="nav-progress"' in page, url
        assert 'data-testid="nav-summary"' in page, url


def test_secretary_pages_carry_no_desk_navigation(client, world, login):
    login("sec1")
    for url in ("/account", "/register/"):
        page = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert 'data-testid="nav-' not in page, url
