"""The webhook address guard: only global unicast addresses are called. IPv6 forms that carry
an IPv4 address are judged by the address they carry; malformed URLs are a 400 naming `url`."""

import pytest

from jobs.notifications.sending import address_refusal

REFUSED = [
    ("10.0.0.1", "private"),
    ("127.0.0.1", "loopback"),
    ("169.254.169.254", "link-local (cloud metadata)"),
    ("100.64.0.1", "shared address space"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "IPv4 multicast"),
    ("239.255.255.250", "IPv4 multicast, SSDP"),
    ("ff02::1", "IPv6 multicast, link"),
    ("ff0e::1", "IPv6 multicast, global scope"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fe80::1%eth0", "IPv6 link-local with a zone"),
    ("fc00::1", "unique local"),
    ("::ffff:10.0.0.1", "IPv4-mapped, private"),
    ("::ffff:127.0.0.1", "IPv4-mapped, loopback"),
    ("::10.0.0.1", "IPv4-compatible, private"),
    ("::169.254.169.254", "IPv4-compatible, link-local"),
    ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64 of 127.0.0.1"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("2002:a00:1::1", "6to4 of 10.0.0.1"),
    ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
    ("2001::1", "Teredo"),
    ("2001:db8::1", "documentation"),
]
ALLOWED = [
    "8.8.8.8",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_an_address_that_is_not_global_unicast_is_refused(address, kind):
    assert address_refusal(address), f"{address} ({kind}) was allowed"


@pytest.mark.parametrize("address", ALLOWED)
def test_a_global_unicast_address_is_allowed(address):
    assert address_refusal(address) == ""


def test_an_embedded_address_is_named_in_the_reason():
    assert address_refusal("64:ff9b::a00:1").startswith("which carries 10.0.0.1, a private")


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://[::1/", "http://example.com:99999/", "http://h:abc/"])
def test_a_malformed_url_is_a_400_naming_url_in_the_api_and_the_portal(
    url, owner, owner_api, client
):
    answer = owner_api.post("/api/v1/webhooks/", {"url": url, "events": ["job.failed"]})
    assert answer.status_code == 400 and "not a valid URL" in str(answer.json()["url"])
    client.force_login(owner)
    page = client.post("/webhooks/", {"url": url, "events": ["job.failed"]}, follow=True)
    assert page.status_code == 200 and "not a valid URL" in page.content.decode()
