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
